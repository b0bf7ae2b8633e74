"""Shared locations: the ``geo:`` URI of an ``m.location`` event (RFC 5870), as Element and
FluffyChat send it (``geo:52.37022,4.89517;u=35``).

A resident's exact position is personal data, so the bot keeps and shows coordinates rounded to
four decimals (about 10 m): enough to find a street corner, not a front door.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

# About 11 m of latitude; longitude steps are smaller still away from the equator.
DECIMALS = 4
_NUMBER = r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)"
_GEO_URI = re.compile(
    rf"geo:(?P<lat>{_NUMBER}),(?P<lon>{_NUMBER})(?:,(?P<alt>{_NUMBER}))?(?P<params>(?:;[^;]*)*)",
    re.IGNORECASE,
)
MAX_URI_CHARS = 512


class GeoUriError(ValueError):
    """A ``geo:`` URI that cannot be a point on Earth; the message says why (for the log)."""


@dataclass(frozen=True, slots=True)
class GeoPoint:
    latitude: float
    longitude: float

    def rounded(self) -> GeoPoint:
        """The point at about 10 m precision: what the bot stores and shows."""
        return GeoPoint(round(self.latitude, DECIMALS), round(self.longitude, DECIMALS))

    @property
    def text(self) -> str:
        """``52.3702, 4.8952``: the rounded coordinates as people read them."""
        point = self.rounded()
        return f"{point.latitude:.{DECIMALS}f}, {point.longitude:.{DECIMALS}f}"

    @property
    def osm_link(self) -> str:
        """An OpenStreetMap page with a marker on the rounded point."""
        point = self.rounded()
        lat, lon = f"{point.latitude:.{DECIMALS}f}", f"{point.longitude:.{DECIMALS}f}"
        return f"https://www.openstreetmap.org/?mlat={lat}&mlon={lon}#map=18/{lat}/{lon}"


def parse_geo_uri(uri: object) -> GeoPoint:
    """The point a ``geo:`` URI names; :class:`GeoUriError` for anything else.

    Only the WGS-84 reference system (the default) is accepted: another ``crs`` would put the
    numbers somewhere else entirely.
    """
    if not isinstance(uri, str):
        raise GeoUriError("geo_uri is not a string")
    if len(uri) > MAX_URI_CHARS:
        raise GeoUriError("geo_uri is too long")
    match = _GEO_URI.fullmatch(uri.strip())
    if match is None:
        raise GeoUriError("not a geo: URI of the form geo:latitude,longitude")
    for param in match.group("params").split(";")[1:]:
        name, _, value = param.partition("=")
        if name.strip().lower() == "crs" and value.strip().lower() != "wgs84":
            raise GeoUriError(f"unsupported coordinate reference system {value[:20]!r}")
    lat, lon = float(match.group("lat")), float(match.group("lon"))
    if not (math.isfinite(lat) and math.isfinite(lon)):
        raise GeoUriError("coordinates are not finite")
    if not -90.0 <= lat <= 90.0:
        raise GeoUriError(f"latitude {lat} is outside -90..90")
    if not -180.0 <= lon <= 180.0:
        raise GeoUriError(f"longitude {lon} is outside -180..180")
    return GeoPoint(lat, lon)
