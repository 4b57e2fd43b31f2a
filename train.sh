#!/usr/bin/env bash
# Reproduces the eight committed models in models/ with the exact committed settings (same data, same seeds),
# then re-measures each modality's ensemble on val and writes its threshold into models/manifest.json.
# Took 38 minutes on 2 shared CPU cores here (see docs/training.md). Optional arguments, passed to every
# step: --data DIR (holding chest/ and ct/; default ../shared/data) and --out DIR (default models/).
set -euo pipefail
cd "$(dirname "$0")"

dotnet build src/CovidServerless.Training -c Release -nologo -v quiet
train=src/CovidServerless.Training/bin/Release/net10.0/linux-x64/covidserverless-train
common=(--epochs 30 --patience 12 --seed 42 --teacher-weight 1 --batch 32 --lr 0.001)

# Both modalities at the full 224 px (for CT it clearly beat 112 px on val; for chest the 224 px ensemble
# scored 0.972 against 0.963 at 112 px, see models/README.md). VGG16 and Xception run at width 0.125 to keep
# their full-resolution layers affordable on CPU.
"$train" train --modality chest --arch resnet50 --width 0.25 --resolution 224 "${common[@]}" "$@"
"$train" train --modality chest --arch inceptionv3 --width 0.25 --resolution 224 "${common[@]}" "$@"
"$train" train --modality chest --arch xception --width 0.125 --resolution 224 "${common[@]}" "$@"
"$train" train --modality chest --arch vgg16 --width 0.125 --resolution 224 "${common[@]}" "$@"

"$train" train --modality ct --arch vgg16 --width 0.125 --resolution 224 "${common[@]}" "$@"
"$train" train --modality ct --arch resnet50 --width 0.25 --resolution 224 "${common[@]}" "$@"
"$train" train --modality ct --arch inceptionv3 --width 0.25 --resolution 224 "${common[@]}" "$@"
"$train" train --modality ct --arch xception --width 0.125 --resolution 224 "${common[@]}" "$@"

for modality in chest ct; do
  "$train" ensemble --modality "$modality" "$@"
done

# The input gate (models/gate/gate.onnx and the manifest's "gate" section): compares a linear model and a small
# CNN by 5-fold patient-grouped cross-validation, keeps the better, sets the thresholds (about 6 min here).
"$train" gate --folds 5 --seed 42 "$@"
