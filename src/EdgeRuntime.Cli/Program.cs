return await EdgeRuntime.Cli.EdgertCli.RunAsync(args, Console.Out, Console.Error);
