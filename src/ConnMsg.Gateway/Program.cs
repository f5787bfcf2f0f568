using ConnMsg.Gateway;

await GatewayApp.Create(args).RunAsync();
