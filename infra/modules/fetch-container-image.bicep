// Returns the image the worker app currently runs, so that re-provisioning (azd provision / up)
// does not reset an image that `azd deploy` pushed. A separate module because an `existing`
// reference to an app that may not exist yet must only be evaluated when it does.
param exists bool
param name string

resource existingApp 'Microsoft.App/containerApps@2026-07-01' existing = if (exists) {
  name: name
}

output image string = exists ? existingApp!.properties.template.containers[0].image : ''
