using CovidServerless.Core;
using CovidServerless.ServiceDefaults;
using Microsoft.Azure.Functions.Worker.Builder;
using Microsoft.Extensions.Hosting;

var builder = FunctionsApplication.CreateBuilder(args);
builder.ConfigureFunctionsWebApplication();

// Relative model paths resolve against the app's folder, where the build copies models/.
builder.Configuration["Models:ManifestPath"] ??= Path.Combine(AppContext.BaseDirectory, "models", "manifest.json");
builder.AddServiceDefaults();
builder.Services.AddCovidPipeline(builder.Configuration);
builder.Services.AddApiAccess(builder.Configuration);

await builder.Build().RunAsync();
