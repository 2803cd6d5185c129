using EdgeRuntime.Deployment;

namespace EdgeRuntime.Deployment.Tests;

public class DeploymentContractTests
{
    [Fact]
    public void A_refusal_carries_its_code_and_reason()
    {
        var refused = new DeploymentRefusedException(DeploymentRefusal.Downgrade, "version 3 is older than the active 4");
        Assert.Equal(DeploymentRefusal.Downgrade, refused.Refusal);
        Assert.Contains("older", refused.Message);
    }
}
