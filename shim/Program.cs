var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions { Args = args });
builder.WebHost.UseKestrelCore();
builder.Services.AddGrpc();
var app = builder.Build();
Console.WriteLine("hello");
