"""Shared locations: geo: URIs as Element and FluffyChat send them, and what is not one."""

from __future__ import annotations

import pytest

from bot.domain.geo import GeoPoint, GeoUriError, parse_geo_uri


@pytest.mark.parametrize(
    ("uri", "lat", "lon"),
    [
        ("geo:52.370216,4.895168", 52.370216, 4.895168),  # FluffyChat
        ("geo:52.370216,4.895168;u=35", 52.370216, 4.895168),  # Element, with uncertainty
        ("geo:52.3702,4.8952,12.5", 52.3702, 4.8952),  # with altitude
        ("GEO:-33.8688,151.2093;crs=wgs84;u=10", -33.8688, 151.2093),
        ("geo:90,-180", 90.0, -180.0),
        (" geo:51.05,3.72 ", 51.05, 3.72),  # Gent
    ],
)
def test_valid_uris(uri: str, lat: float, lon: float) -> None:
    assert parse_geo_uri(uri) == GeoPoint(lat, lon)


@pytest.mark.parametrize(
    "uri",
    [
        "",
        "52.37,4.89",  # no scheme
        "geo:52.37",  # one coordinate
        "geo:52.37;4.89",
        "geo:abc,def",
        "geo:52.37,4.89,1,2",  # too many coordinates
        "geo:nan,4.89",
        "geo:inf,4.89",
        "geo:52.37,4.89;crs=EPSG:28992",  # Dutch RD coordinates, not WGS-84
        "https://www.openstreetmap.org/#map=18/52.37/4.89",
        "geo:" + "1" * 600 + ",1",
        None,
        42,
        ["geo:52.37,4.89"],
    ],
)
def test_malformed_uris_are_refused(uri: object) -> None:
    with pytest.raises(GeoUriError):
        parse_geo_uri(uri)


@pytest.mark.parametrize("uri", ["geo:90.0001,4.89", "geo:-91,4.89", "geo:52,180.5", "geo:52,-999"])
def test_out_of_range_is_refused(uri: str) -> None:
    with pytest.raises(GeoUriError, match="outside"):
        parse_geo_uri(uri)


def test_rounded_to_about_ten_metres_for_storage_and_links() -> None:
    point = parse_geo_uri("geo:52.370216,4.895168;u=35")
    assert point.rounded() == GeoPoint(52.3702, 4.8952)
    assert point.text == "52.3702, 4.8952"
    assert point.osm_link == (
        "https://www.openstreetmap.org/?mlat=52.3702&mlon=4.8952#map=18/52.3702/4.8952"
    )
    # Negative and whole numbers keep four decimals too.
    assert GeoPoint(-0.00004, 5).text == "-0.0000, 5.0000"
