#!/bin/sh
# azd postdeploy hook: creates (or updates) the Event Grid subscriptions that deliver chest/ and ct-scans/
# BlobCreated events to the functions' blob extension webhook. Runs after `azd deploy` because the
# webhook needs the host's blobs_extension system key, which exists only once the deployed app has
# started. Idempotent. Needs the Azure CLI (`az login`, same account as azd).
# Reads the azd environment (main.bicep outputs): AZURE_RESOURCE_GROUP, AZURE_FUNCTION_APP_NAME,
# FUNCTION_APP_URL, EVENTGRID_SYSTEM_TOPIC_NAME, STORAGE_ACCOUNT_NAME, EVENTGRID_DEADLETTER_CONTAINER.
set -eu
repo_root="$(cd "$(dirname "$0")/../.." && pwd)"

command -v az >/dev/null 2>&1 || { echo "postdeploy: the Azure CLI (az) is required" >&2; exit 1; }

# azd's subscription, not whichever one the Azure CLI has as its default (unquoted on use: two words or none).
subscription="${AZURE_SUBSCRIPTION_ID:+--subscription $AZURE_SUBSCRIPTION_ID}"

# Wait (up to ~5 min) for the host to create the key. Only its presence is tested; it is never printed.
i=0
until [ -n "$(az functionapp keys list $subscription -g "$AZURE_RESOURCE_GROUP" -n "$AZURE_FUNCTION_APP_NAME" \
          --query systemKeys.blobs_extension -o tsv 2>/dev/null)" ]; do
  i=$((i + 1))
  if [ "$i" -gt 30 ]; then
    echo "postdeploy: no blobs_extension key on $AZURE_FUNCTION_APP_NAME after 5 minutes." >&2
    echo "  Check that the functions deployed and started, then re-run: azd hooks run postdeploy" >&2
    exit 1
  fi
  if [ "$i" -eq 1 ]; then
    echo "postdeploy: waiting for the function host to create its blobs_extension key ..."
  fi
  # Any request starts a scaled-to-zero Flex instance; the host creates its system keys on start.
  curl -s -o /dev/null --max-time 30 "$FUNCTION_APP_URL/" || true
  sleep 10
done

# The key is read inside the deployment (listKeys), not passed on the command line.
az deployment group create $subscription \
  --resource-group "$AZURE_RESOURCE_GROUP" \
  --name blob-event-subscriptions \
  --template-file "$repo_root/infra/modules/blob-event-subscriptions.bicep" \
  --parameters functionAppName="$AZURE_FUNCTION_APP_NAME" \
               systemTopicName="$EVENTGRID_SYSTEM_TOPIC_NAME" \
               storageAccountName="$STORAGE_ACCOUNT_NAME" \
               deadLetterContainerName="$EVENTGRID_DEADLETTER_CONTAINER" \
  --output none
echo "postdeploy: Event Grid subscriptions for chest/ and ct-scans/ are in place."
