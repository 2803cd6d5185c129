using Onnx;

namespace EdgeRuntime.Compression.Distillation.Backward;

/// <summary>Gradients of broadcasting arithmetic, each summed back to its operand's shape.</summary>
internal static class ElementwiseGradients
{
    public static void Add(NodeProto node, string dy, GradientContext g)
    {
        for (int slot = 0; slot < 2; slot++)
        {
            if (g.Wants(node, slot))
            {
                g.Pass(node, slot, g.Unbroadcast(dy, node.Output[0], node.Input[slot]));
            }
        }
    }

    public static void Sub(NodeProto node, string dy, GradientContext g)
    {
        if (g.Wants(node, 0))
        {
            g.Pass(node, 0, g.Unbroadcast(dy, node.Output[0], node.Input[0]));
        }
        if (g.Wants(node, 1))
        {
            g.Pass(node, 1, g.Unbroadcast(g.Emit("Neg", [dy]), node.Output[0], node.Input[1]));
        }
    }

    public static void Mul(NodeProto node, string dy, GradientContext g)
    {
        if (g.Wants(node, 0))
        {
            g.Pass(node, 0, g.Unbroadcast(g.Emit("Mul", [dy, node.Input[1]]), node.Output[0], node.Input[0]));
        }
        if (g.Wants(node, 1))
        {
            g.Pass(node, 1, g.Unbroadcast(g.Emit("Mul", [dy, node.Input[0]]), node.Output[0], node.Input[1]));
        }
    }

    public static void Div(NodeProto node, string dy, GradientContext g)
    {
        if (g.Wants(node, 0))
        {
            g.Pass(node, 0, g.Unbroadcast(g.Emit("Div", [dy, node.Input[1]]), node.Output[0], node.Input[0]));
        }
        if (g.Wants(node, 1))
        {
            // d(a/b)/db = -y/b.
            string term = g.Emit("Neg", [g.Emit("Div", [g.Emit("Mul", [dy, node.Output[0]]), node.Input[1]])]);
            g.Pass(node, 1, g.Unbroadcast(term, node.Output[0], node.Input[1]));
        }
    }
}
