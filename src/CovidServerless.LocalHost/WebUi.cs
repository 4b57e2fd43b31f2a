using Microsoft.Extensions.FileProviders;

namespace CovidServerless.LocalHost;

/// <summary>
/// Serves the browser app (wwwroot beside the binaries) at "/", with headers that confine every page and API answer:
/// scripts and styles only from this origin (no inline code), no framing, no content-type guessing.
/// </summary>
public static class WebUi
{
    public const string ContentSecurityPolicy =
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:; connect-src 'self'; " +
        "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

    public static WebApplication UseWebUi(this WebApplication app)
    {
        app.Use((context, next) =>
        {
            var headers = context.Response.Headers;
            headers.ContentSecurityPolicy = ContentSecurityPolicy;
            headers.XContentTypeOptions = "nosniff";
            headers["Referrer-Policy"] = "no-referrer";
            headers.XFrameOptions = "DENY";
            return next(context);
        });

        var root = Path.Combine(AppContext.BaseDirectory, "wwwroot");
        if (Directory.Exists(root))
        {
            var files = new PhysicalFileProvider(root);
            app.UseDefaultFiles(new DefaultFilesOptions { FileProvider = files });
            app.UseStaticFiles(new StaticFileOptions
            {
                FileProvider = files,
                OnPrepareResponse = context => context.Context.Response.Headers.CacheControl = "no-cache",
            });
        }

        return app;
    }
}
