"""Per-class detector score thresholds for SSD MobileNet v2 on real footage, learned by
`benchmarks/objects.py` on 51 hand-labelled real keyframes (tests/data/objects, the even-numbered half): the lowest
threshold at which that class's detections were right at least 95% of the time (from a prior, lowered
only to a right detection's score), or just above its best wrong score where it was never right. Classes not listed
get the stage's `class_thresholds` for vehicles or its `object_threshold`.
"""

LEARNED: dict[str, float] = {
    "bird": 0.94,
    "car": 0.4,
    "person": 0.4,
}
