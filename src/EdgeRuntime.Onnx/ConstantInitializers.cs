using Onnx;

namespace EdgeRuntime.Onnx;

public static class ConstantInitializers
{
    /// <summary>
    /// Turns tensor-valued Constant nodes into initializers of the same name. Exporters such as
    /// PaddlePaddle's keep every weight in a Constant node, while quantizers, pruners and ONNX Runtime's
    /// QDQ fusion look for initializers. Returns how many were converted.
    /// </summary>
    public static int ConvertConstantNodes(this OnnxGraph graph)
    {
        int converted = 0;
        foreach (var node in graph.Nodes.Where(n => n.OpType == "Constant" && n.Domain is "" or "ai.onnx").ToList())
        {
            if (node.GetTensor("value") is { } value && node.Output.Count == 1 && !graph.IsInitializer(node.Output[0]))
            {
                var tensor = value.Clone();
                tensor.Name = node.Output[0];
                graph.AddInitializer(tensor);
                graph.RemoveNode(node);
                converted++;
            }
        }
        return converted;
    }
}
