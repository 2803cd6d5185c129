using EdgeRuntime.Onnx;
using Onnx;

namespace EdgeRuntime.Compression.Distillation.Backward;

/// <summary>Gradients of element-wise activations: the incoming gradient times the local slope.</summary>
internal static class ActivationGradients
{
    public static void Relu(NodeProto node, string dy, GradientContext g) =>
        g.Pass(node, 0, g.Emit("Mul", [dy, g.Mask("Greater", node.Input[0], g.Scalar(0f))]));

    public static void LeakyRelu(NodeProto node, string dy, GradientContext g)
    {
        float alpha = node.GetFloat("alpha", 0.01f);
        string slope = g.Emit("Where", [g.Emit("Greater", [node.Input[0], g.Scalar(0f)]), g.Scalar(1f), g.Scalar(alpha)]);
        g.Pass(node, 0, g.Emit("Mul", [dy, slope]));
    }

    public static void Clip(NodeProto node, string dy, GradientContext g)
    {
        string x = node.Input[0];
        string? min, max;
        if (g.Opset < 11)
        {
            min = node.HasAttribute("min") ? g.Scalar(node.GetFloat("min")) : null;
            max = node.HasAttribute("max") ? g.Scalar(node.GetFloat("max")) : null;
        }
        else
        {
            min = node.Input.Count > 1 && node.Input[1].Length > 0 ? node.Input[1] : null;
            max = node.Input.Count > 2 && node.Input[2].Length > 0 ? node.Input[2] : null;
        }
        string grad = dy;
        if (min is not null)
        {
            grad = g.Emit("Mul", [grad, g.Mask("Greater", x, min)]);
        }
        if (max is not null)
        {
            grad = g.Emit("Mul", [grad, g.Mask("Less", x, max)]);
        }
        g.Pass(node, 0, grad);
    }

    public static void HardSigmoid(NodeProto node, string dy, GradientContext g)
    {
        float alpha = node.GetFloat("alpha", 0.2f), beta = node.GetFloat("beta", 0.5f);
        string z = g.Emit("Add", [g.Emit("Mul", [node.Input[0], g.Scalar(alpha)]), g.Scalar(beta)]);
        string inside = g.Emit("Mul", [g.Mask("Greater", z, g.Scalar(0f)), g.Mask("Less", z, g.Scalar(1f))]);
        g.Pass(node, 0, g.Emit("Mul", [dy, g.Emit("Mul", [inside, g.Scalar(alpha)])]));
    }

    public static void HardSwish(NodeProto node, string dy, GradientContext g)
    {
        // d/dx x*relu6(x+3)/6 = (2x+3)/6 inside (-3, 3), 1 above, 0 below.
        string x = node.Input[0];
        string slope = g.Emit("Add", [g.Emit("Mul", [x, g.Scalar(1f / 3)]), g.Scalar(0.5f)]);
        slope = g.Emit("Where", [g.Emit("Greater", [x, g.Scalar(3f)]), g.Scalar(1f), slope]);
        slope = g.Emit("Where", [g.Emit("Less", [x, g.Scalar(-3f)]), g.Scalar(0f), slope]);
        g.Pass(node, 0, g.Emit("Mul", [dy, slope]));
    }

    public static void Sigmoid(NodeProto node, string dy, GradientContext g)
    {
        string y = node.Output[0];
        g.Pass(node, 0, g.Emit("Mul", [dy, g.Emit("Mul", [y, g.Emit("Sub", [g.Scalar(1f), y])])]));
    }

    public static void Tanh(NodeProto node, string dy, GradientContext g)
    {
        string y = node.Output[0];
        g.Pass(node, 0, g.Emit("Mul", [dy, g.Emit("Sub", [g.Scalar(1f), g.Emit("Mul", [y, y])])]));
    }
}
