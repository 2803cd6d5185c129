using MessagePack;
using MessagePack.Resolvers;

namespace EdgeRuntime.Protocol;

/// <summary>The one set of MessagePack options both ends use.</summary>
public static class ProtocolSerializer
{
    public const int Version = 1;

    /// <summary>
    /// Attribute-declared contracts only: no typeless, contractless or by-type-name formatters, so a peer can
    /// never make us instantiate a type it names. UntrustedData hardens hashing and caps object graph depth.
    /// </summary>
    public static readonly MessagePackSerializerOptions Options = MessagePackSerializerOptions.Standard
        .WithResolver(CompositeResolver.Create(
            BuiltinResolver.Instance,
            AttributeFormatterResolver.Instance,
            DynamicGenericResolver.Instance,
            DynamicObjectResolver.Instance))
        // Frames are checked against the configured nesting cap (at most 64) before this; the depth here is a second fence.
        .WithSecurity(MessagePackSecurity.UntrustedData.WithMaximumObjectGraphDepth(66));
}
