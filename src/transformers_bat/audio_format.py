"""The release's audio format, which every part of the package renders, reads and models: 32 kHz binaural clips of
10 s, heard through binaural RIRs cropped to 2 s (``shared/reference/spatialsoundqa.md``)."""

SAMPLE_RATE = 32_000
CLIP_SECONDS = 10
NUM_SAMPLES = SAMPLE_RATE * CLIP_SECONDS  # 320,000
RIR_LENGTH = 2 * SAMPLE_RATE  # 64,000 samples

__all__ = ["CLIP_SECONDS", "NUM_SAMPLES", "RIR_LENGTH", "SAMPLE_RATE"]
