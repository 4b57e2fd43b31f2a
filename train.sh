#!/usr/bin/env bash
# Reproduces the eight committed models in models/ with the exact committed settings (same data, same seeds),
# then re-measures each modality's ensemble on val and writes its threshold into models/manifest.json.
# Takes about 45-60 minutes on 2 CPU cores (see docs/training.md). Extra arguments are passed to every
# `train` call, e.g. ./train.sh --data /path/to/data --out /tmp/models.
set -euo pipefail
cd "$(dirname "$0")"

dotnet build src/CovidServerless.Training -c Release -nologo -v quiet
train=src/CovidServerless.Training/bin/Release/net10.0/linux-x64/covidserverless-train
common=(--epochs 30 --patience 12 --seed 42 --teacher-weight 1 --batch 32 --lr 0.001)

# Chest X-ray: an easy separation on these sources; 112 px inside the graph is enough and 4x cheaper.
for arch in vgg16 resnet50 inceptionv3 xception; do
  "$train" train --modality chest --arch "$arch" --width 0.25 --resolution 112 "${common[@]}" "$@"
done

# CT: fine ground-glass texture; full 224 px clearly beat 112 on val (see models/README.md). VGG16 and Xception
# run at width 0.125 to keep their full-resolution layers affordable on CPU.
"$train" train --modality ct --arch vgg16 --width 0.125 --resolution 224 "${common[@]}" "$@"
"$train" train --modality ct --arch resnet50 --width 0.25 --resolution 224 "${common[@]}" "$@"
"$train" train --modality ct --arch inceptionv3 --width 0.25 --resolution 224 "${common[@]}" "$@"
"$train" train --modality ct --arch xception --width 0.125 --resolution 224 "${common[@]}" "$@"

out=models
for ((i = 1; i <= $#; i++)); do [[ "${!i}" == --out ]] && { j=$((i + 1)); out="${!j}"; }; done
for modality in chest ct; do
  "$train" ensemble --modality "$modality" --out "$out"
done
