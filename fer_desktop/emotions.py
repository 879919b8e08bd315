"""The seven FER-2013 classes, in the data set's own label order."""

EMOTIONS: tuple[str, ...] = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")
NUM_CLASSES = len(EMOTIONS)

# FER-2013 faces are 48x48 grayscale; every crop the app makes is this size too.
FACE_SIZE = 48
