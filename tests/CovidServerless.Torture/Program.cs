using CovidServerless.DevTools;
using CovidServerless.Torture;

return await TortureCommand.Create(RepoPaths.Root).Parse(args).InvokeAsync();
