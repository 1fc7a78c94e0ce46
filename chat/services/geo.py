"""Distances without PostGIS: haversine on latitude/longitude, bounding boxes for index prefilters,
and a small gazetteer so that "건대입구 근처" works when the app sends no coordinates."""

import math
from dataclasses import dataclass

EARTH_RADIUS_M = 6_371_000
METERS_PER_DEGREE_LAT = 111_320
WALKING_METERS_PER_MINUTE = 67  # about 4 km/h, a child's walking pace


@dataclass(frozen=True)
class Point:
    latitude: float
    longitude: float


# Neighbourhood names people use in chat -> a representative point (station exits, campus gates).
PLACES = {
    "건대입구": Point(37.54040, 127.06920),
    "건대": Point(37.54040, 127.06920),
    "건국대": Point(37.54300, 127.07590),
    "강남": Point(37.49795, 127.02760),
    "강남역": Point(37.49795, 127.02760),
    "역삼": Point(37.50070, 127.03650),
    "홍대": Point(37.55720, 126.92450),
    "홍대입구": Point(37.55720, 126.92450),
    "신촌": Point(37.55510, 126.93690),
    "서울역": Point(37.55470, 126.97060),
    "시청": Point(37.56570, 126.97700),
    "잠실": Point(37.51330, 127.10010),
    "성수": Point(37.54460, 127.05570),
    "왕십리": Point(37.56120, 127.03750),
    "신림": Point(37.48420, 126.92970),
    "노원": Point(37.65620, 127.06310),
}


def haversine_m(lat1: float, lng1: float, lat2: float, lng2: float) -> float:
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    dphi = phi2 - phi1
    dlmb = math.radians(lng2 - lng1)
    a = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlmb / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(a)))


def bounding_box(point: Point, radius_m: float) -> tuple[float, float, float, float]:
    """(min_lat, max_lat, min_lng, max_lng) containing every point within radius_m of `point`."""
    dlat = radius_m / METERS_PER_DEGREE_LAT
    dlng = radius_m / (METERS_PER_DEGREE_LAT * max(math.cos(math.radians(point.latitude)), 0.01))
    return point.latitude - dlat, point.latitude + dlat, point.longitude - dlng, point.longitude + dlng


def walking_minutes(distance_m: float) -> int:
    return max(1, math.ceil(distance_m / WALKING_METERS_PER_MINUTE))


def find_place(text: str | None) -> Point | None:
    """The gazetteer point named in `text` (longest name wins: 건대입구 before 건대)."""
    if not text:
        return None
    for name in sorted(PLACES, key=len, reverse=True):
        if name in text:
            return PLACES[name]
    return None
