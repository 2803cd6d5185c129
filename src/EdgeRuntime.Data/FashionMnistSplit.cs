namespace EdgeRuntime.Data;

public enum FashionMnistSplit
{
    /// <summary>10,000 images (t10k-*).</summary>
    Test,

    /// <summary>60,000 images (train-*).</summary>
    Train,
}
