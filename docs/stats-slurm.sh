#!/bin/bash
# mhaviz stats over a corpus as a Slurm job array: task I of N writes part-I.json, then
#   mhaviz stats --merge --format json --out stats.json part-*.json
# gives exactly the numbers of one unsharded run (man mhaviz: STATISTICS).
#
#   sbatch --array=0-15 docs/stats-slurm.sh corpus.txt ~/models/bert-base-chinese parts/
#
#SBATCH --job-name=mhaviz-stats
#SBATCH --cpus-per-task=4
#SBATCH --mem=8G
#SBATCH --output=mhaviz-stats-%A_%a.log
set -eu
corpus=$1 model=$2 parts=${3:-.}
: "${MHAVIZ:=mhaviz}"
i=$SLURM_ARRAY_TASK_ID
n=$SLURM_ARRAY_TASK_COUNT
mkdir -p "$parts"
exec "$MHAVIZ" stats --model "$model" --format json --threads "${SLURM_CPUS_PER_TASK:-1}" \
    --shard "$i/$n" --out "$parts/part-$i.json" "$corpus"
