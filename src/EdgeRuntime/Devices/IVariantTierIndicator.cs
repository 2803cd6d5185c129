namespace EdgeRuntime.Devices;

/// <summary>Shows which variant tier is serving (a status LED on a board); tier 0 is the most accurate.</summary>
public interface IVariantTierIndicator
{
    void ShowTier(int tier);
}
