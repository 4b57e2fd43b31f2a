# GPU scoring worker image (src/CovidServerless.Worker) for Azure Container Apps serverless GPUs.
#
# Build from the repository root, after publishing the tested worker project against ONNX Runtime's CUDA
# package (same managed API and code; -p:OnnxRuntimeGpu=true swaps only the native runtime):
#   dotnet publish src/CovidServerless.Worker -c Release -r linux-x64 -p:OnnxRuntimeGpu=true -o artifacts/worker
#   docker build -f infra/worker.Dockerfile -t covidserverless-worker:local .
# Run locally (needs the NVIDIA Container Toolkit; without a GPU the worker falls back to CPU). The worker
# checks Entra ID tokens and refuses to start without a tenant and audience (docs/security.md):
#   docker run --rm --gpus all -p 8080:8080 -e WorkerAuth__TenantId=<tenant> -e WorkerAuth__Audience=<app id URI> covidserverless-worker:local
# `azd deploy worker` does the same: its prepackage hook runs the publish, ACR builds the image.
#
# The image only COPIES the publish output: nothing is compiled here, so what runs in Azure is
# the worker project the tests run. (Reviewed by hand; no Docker engine on the dev machines.)

# CUDA 13 + cuDNN 9 runtime libraries, as required by ONNX Runtime's CUDA execution provider
# (Microsoft.ML.OnnxRuntime.Gpu.Linux 1.31.0's libonnxruntime_providers_cuda.so links libcudart.so.13,
# libcublas.so.13, libcublasLt.so.13 and libcurand.so.10, and loads libcudnn.so.9). With CUDA 12 libraries the
# provider cannot load and the worker scores on the CPU, with only a warning. The host's NVIDIA driver must
# support CUDA 13. Ubuntu 24.04 "noble", same base as the .NET image.
# Base images are pinned by tag only: no registry could be reached from the machine this was written on to
# look up digests. Pin both by digest at build time (--build-arg CUDA_IMAGE=nvidia/cuda@sha256:...,
# ASPNET_IMAGE=mcr.microsoft.com/dotnet/aspnet@sha256:...) or here once looked up.
ARG CUDA_IMAGE=nvidia/cuda:13.0.2-cudnn-runtime-ubuntu24.04
# Microsoft's ASP.NET Core 10 runtime image for the same Ubuntu release.
ARG ASPNET_IMAGE=mcr.microsoft.com/dotnet/aspnet:10.0-noble

FROM ${ASPNET_IMAGE} AS aspnet

FROM ${CUDA_IMAGE}

# .NET runtime dependencies on Ubuntu 24.04 (the list Microsoft's runtime-deps:noble image installs).
RUN apt-get update \
    && apt-get install -y --no-install-recommends \
        ca-certificates \
        libc6 \
        libgcc-s1 \
        libicu74 \
        libssl3t64 \
        libstdc++6 \
        tzdata \
    && rm -rf /var/lib/apt/lists/*

# The ASP.NET Core + .NET runtime, installed the way Microsoft's own images layer it: the official
# build's /usr/share/dotnet, copied from the aspnet image (signed, versioned by its tag).
COPY --from=aspnet /usr/share/dotnet /usr/share/dotnet
RUN ln -s /usr/share/dotnet/dotnet /usr/bin/dotnet

# Non-root user (same uid as Microsoft's .NET images). Application files stay root-owned: read-only.
ENV APP_UID=1654
RUN groupadd --gid=$APP_UID app \
    && useradd --no-log-init --uid=$APP_UID --gid=$APP_UID --create-home app

WORKDIR /app
COPY artifacts/worker/ /app/
# Models baked in: the image is self-contained and the model set is versioned with the image.
COPY models/ /app/models/

ENV ASPNETCORE_HTTP_PORTS=8080 \
    DOTNET_RUNNING_IN_CONTAINER=true \
    DOTNET_NOLOGO=true \
    Models__ManifestPath=/app/models/manifest.json \
    Models__Provider=Cuda \
    NVIDIA_DRIVER_CAPABILITIES=compute,utility

USER $APP_UID
EXPOSE 8080

# Liveness for plain Docker (Container Apps uses its own probes: /healthz and /readyz).
# bash's /dev/tcp instead of curl: no extra package in the image.
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/8080 && printf 'GET /healthz HTTP/1.0\\r\\nHost: localhost\\r\\n\\r\\n' >&3 && head -n 1 <&3 | grep -q ' 200 '"]

ENTRYPOINT ["dotnet", "CovidServerless.Worker.dll"]
