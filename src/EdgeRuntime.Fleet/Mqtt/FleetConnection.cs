using EdgeRuntime.Uplink;

namespace EdgeRuntime.Fleet.Mqtt;

/// <summary>The short-lived broker connection a fleet command makes.</summary>
public static class FleetConnection
{
    public static readonly TimeSpan ConnectTimeout = TimeSpan.FromSeconds(30);

    /// <summary>A clean session, started and connected.</summary>
    /// <exception cref="IOException">No connection within <see cref="ConnectTimeout"/>, naming the broker and why.</exception>
    public static async Task<MqttSession> ConnectAsync(MqttBrokerOptions broker, CancellationToken cancellationToken, TimeSpan? sessionExpiry = null)
    {
        var session = new MqttSession(broker, sessionExpiry ?? TimeSpan.Zero);
        session.Start();
        try
        {
            await session.WaitConnectedAsync(cancellationToken).WaitAsync(ConnectTimeout, cancellationToken).ConfigureAwait(false);
            return session;
        }
        catch (TimeoutException)
        {
            string error = session.LastError ?? "no answer";
            await session.DisposeAsync().ConfigureAwait(false);
            throw new IOException($"could not connect to the broker at {broker.Host}:{broker.Port} within {ConnectTimeout.TotalSeconds:F0} s: {error}");
        }
        catch
        {
            await session.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }
}
