"""s3-synth's fine-tuned student: a Temporal Python worker (task queue s3-train) that runs the
trainAndEvaluate activity with a fine-tuned Hugging Face sequence classifier."""
