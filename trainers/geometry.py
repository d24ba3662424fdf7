"""Box geometry shared by the scorers and the citation checker."""

from __future__ import annotations


def box_iou(a: dict[str, float], b: dict[str, float]) -> float:
    """IoU of two axis-aligned boxes (corners in any order)."""
    ax1, ax2 = sorted((a["x1"], a["x2"]))
    ay1, ay2 = sorted((a["y1"], a["y2"]))
    bx1, bx2 = sorted((b["x1"], b["x2"]))
    by1, by2 = sorted((b["y1"], b["y2"]))
    inter = max(0.0, min(ax2, bx2) - max(ax1, bx1)) * max(0.0, min(ay2, by2) - max(ay1, by1))
    union = (ax2 - ax1) * (ay2 - ay1) + (bx2 - bx1) * (by2 - by1) - inter
    return inter / union if union > 0 else 0.0
