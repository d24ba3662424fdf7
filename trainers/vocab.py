"""Shared vocabularies: the detector's COCO labels, the colour names evidence reports, English number words, the
pattern of a plain decimal number, and `word_set` for word lists written as text. Defined once here for the stages
that write evidence and tasks and for the checks that read chains of thought and answers.
"""

from __future__ import annotations


def word_set(text: str) -> frozenset[str]:
    """The words of `text` (split on white space): a long word list reads better written as text."""
    return frozenset(text.split())


# The TensorFlow Object Detection API's 90-id COCO label map (ids the SSD outputs, 1-based). Ten ids are gaps the
# 80-class models never output (COCO_UNUSED_IDS); their names are kept so an id always has one.
COCO_IDS: dict[int, str] = {
    1: "person", 2: "bicycle", 3: "car", 4: "motorcycle", 5: "airplane", 6: "bus", 7: "train", 8: "truck", 9: "boat",
    10: "traffic light", 11: "fire hydrant", 12: "street sign", 13: "stop sign", 14: "parking meter", 15: "bench",
    16: "bird", 17: "cat", 18: "dog", 19: "horse", 20: "sheep", 21: "cow", 22: "elephant", 23: "bear", 24: "zebra",
    25: "giraffe", 26: "hat", 27: "backpack", 28: "umbrella", 29: "shoe", 30: "eye glasses", 31: "handbag", 32: "tie",
    33: "suitcase", 34: "frisbee", 35: "skis", 36: "snowboard", 37: "sports ball", 38: "kite", 39: "baseball bat",
    40: "baseball glove", 41: "skateboard", 42: "surfboard", 43: "tennis racket", 44: "bottle", 45: "plate",
    46: "wine glass", 47: "cup", 48: "fork", 49: "knife", 50: "spoon", 51: "bowl", 52: "banana", 53: "apple",
    54: "sandwich", 55: "orange", 56: "broccoli", 57: "carrot", 58: "hot dog", 59: "pizza", 60: "donut", 61: "cake",
    62: "chair", 63: "couch", 64: "potted plant", 65: "bed", 66: "mirror", 67: "dining table", 68: "window",
    69: "desk", 70: "toilet", 71: "door", 72: "tv", 73: "laptop", 74: "mouse", 75: "remote", 76: "keyboard",
    77: "cell phone", 78: "microwave", 79: "oven", 80: "toaster", 81: "sink", 82: "refrigerator", 83: "blender",
    84: "book", 85: "clock", 86: "vase", 87: "scissors", 88: "teddy bear", 89: "hair drier", 90: "toothbrush",
}  # fmt: skip
COCO_UNUSED_IDS = frozenset({12, 26, 29, 30, 45, 66, 68, 69, 71, 83})
# The 80 COCO classes the bundled detector reports (ssd_mobilenet_v2_coco), in id order.
COCO_LABELS: tuple[str, ...] = tuple(name for i, name in COCO_IDS.items() if i not in COCO_UNUSED_IDS)

# The colour names the classic evidence backend reports (its hue bins and grey scale), and the words for colours a
# chain may use ("gray" is read as "grey").
COLOURS: tuple[str, ...] = (
    "red", "orange", "yellow", "green", "cyan", "blue", "purple", "magenta", "pink", "brown", "white", "grey", "black",
)  # fmt: skip
COLOUR_WORDS = frozenset(COLOURS) | {"gray"}

# English number words, each at its value's index.
NUMBER_WORDS: tuple[str, ...] = (
    "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve",
    "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen", "twenty",
)  # fmt: skip

# A plain decimal number as written in citations and text views: "12", "4.25" (no sign, no thousands separators).
DECIMAL = r"\d+(?:\.\d+)?"
