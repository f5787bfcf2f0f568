using ConnMsg.Gateway;

WebApplication app = GatewayApp.Create(args);
GatewayApp.PreferInlineSocketCompletions(app);
await app.RunAsync();
