using EdgeRuntime.Server.Domain;

namespace EdgeRuntime.Server.Models;

/// <summary>The models the daemon serves, by bundle name.</summary>
internal sealed class ModelRegistry(IReadOnlyList<ModelHost> models) : IDisposable
{
    public IReadOnlyList<ModelHost> Models { get; } = models;

    /// <summary>The named model, or the only one when no name is given.</summary>
    /// <exception cref="RefusedException">Unknown name, or no name while several models are served.</exception>
    public ModelHost Resolve(string? name)
    {
        if (string.IsNullOrEmpty(name))
        {
            return Models.Count == 1
                ? Models[0]
                : throw new RefusedException(Refusal.InvalidRequest, $"this daemon serves {Models.Count} models ({Names}); name one in 'model'");
        }
        foreach (var model in Models)
        {
            if (model.Name == name)
            {
                return model;
            }
        }
        throw new RefusedException(Refusal.UnknownModel, $"no model '{name}'; this daemon serves {Names}");
    }

    private string Names => string.Join(", ", Models.Select(m => m.Name));

    public void Dispose()
    {
        foreach (var model in Models)
        {
            model.Dispose();
        }
    }
}
