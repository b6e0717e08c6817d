"""The agency directory: built from the national division table, with local overrides."""
import json

import pytest

from services.agencies import directory as directory_module
from services.agencies.directory import CITY, COUNTY, NATIONAL, PROVINCE, Directory, DirectoryError, UnknownAgency


@pytest.fixture(scope="module")
def d() -> Directory:
    return Directory.load()


@pytest.mark.parametrize("agency_id, name, level, parent_id", [
    ("AMR-310115", "上海市浦东新区市场监督管理局", COUNTY, "AMR-310000"),   # municipality: no city level
    ("AMR-110108", "北京市海淀区市场监督管理局", COUNTY, "AMR-110000"),
    ("AMR-500229", "重庆市城口县市场监督管理局", COUNTY, "AMR-500000"),     # Chongqing's counties too
    ("AMR-440106", "广州市天河区市场监督管理局", COUNTY, "AMR-440100"),
    ("AMR-330106", "杭州市西湖区市场监督管理局", COUNTY, "AMR-330100"),
    ("AMR-510107", "成都市武侯区市场监督管理局", COUNTY, "AMR-510100"),
    ("AMR-420106", "武汉市武昌区市场监督管理局", COUNTY, "AMR-420100"),
    ("AMR-429004", "湖北省仙桃市市场监督管理局", COUNTY, "AMR-420000"),     # 省直辖县级市
    ("AMR-469025", "海南省白沙黎族自治县市场监督管理局", COUNTY, "AMR-460000"),
    ("AMR-440100", "广州市市场监督管理局", CITY, "AMR-440000"),
    ("AMR-441900", "东莞市市场监督管理局", CITY, "AMR-440000"),
    ("AMR-440000", "广东省市场监督管理局", PROVINCE, "AMR-100000"),
    ("AMR-310000", "上海市市场监督管理局", PROVINCE, "AMR-100000"),
    ("AMR-100000", "国家市场监督管理总局", NATIONAL, None),
    ("EEB-440106", "广州市天河区生态环境局", COUNTY, None),
    ("TOUR-510107", "成都市武侯区文化和旅游局", COUNTY, None),
    ("CA-650000", "新疆维吾尔自治区通信管理局", PROVINCE, None),
    ("NFRA-450000", "国家金融监督管理总局广西监管局", PROVINCE, None),
    ("POST-330000", "浙江省邮政管理局", PROVINCE, None),
])
def test_agencies_carry_their_name_level_and_superior(d, agency_id, name, level, parent_id):
    agency = d.agency(agency_id)
    assert (agency.name, agency.level, agency.parent_id) == (name, level, parent_id)
    assert (agency.kind, agency.adcode) == tuple(agency_id.split("-"))


@pytest.mark.parametrize("agency_id, remit", [
    ("AMR-440106", ("GOODS_QUALITY", "SERVICE_CONTRACT", "FOOD", "PRICE", "ADVERTISING", "OTHER_MARKET")),
    ("EEB-440106", ("ENVIRONMENT",)), ("HC-440106", ("MEDICAL",)), ("EDU-440106", ("EDUCATION",)),
    ("TRANS-440106", ("TRANSPORT",)), ("HOUSING-440106", ("HOUSING",)), ("TOUR-440106", ("TOURISM",)),
    ("CA-440000", ("TELECOM",)), ("NFRA-440000", ("FINANCE",)), ("POST-440000", ("POSTAL",)),
])
def test_each_kind_has_its_remit(d, agency_id, remit):
    assert d.agency(agency_id).remit == remit


@pytest.mark.parametrize("agency_id", [
    "AMR-110100",   # 北京 市辖区: a grouping in the code table, not a government
    "AMR-500200",   # 重庆 县
    "AMR-429000",   # 湖北 省直辖县级行政区划
    "AMR-130101",   # 石家庄 市辖区
    "AMR-810000",   # Hong Kong: outside the mainland system
    "AMR-710000",
    "EEB-440100",   # Guangzhou has districts: county kinds sit there, not at the city
    "CA-440100",    # provincial kinds only at provinces
    "AMR-999999",
])
def test_no_agency_where_no_such_bureau_exists(d, agency_id):
    assert not d.exists(agency_id)
    with pytest.raises(UnknownAgency, match=agency_id):
        d.agency(agency_id)


def test_covers_every_county_level_division_of_the_table(d):
    counties = [a for a in d.agencies("AMR") if a.level == COUNTY]
    assert len(counties) == 2851  # 3133 county rows in cpca's table less 282 市辖区 groupings
    assert sum(1 for _ in d.agencies("AMR") if _.level == PROVINCE) == 31
    assert sum(1 for _ in d.agencies("AMR") if _.level == CITY) == 334
    for kind in ("EEB", "HC", "EDU", "TRANS", "HOUSING", "TOUR"):
        assert sum(1 for _ in d.agencies(kind)) == 2851 + 4  # and the four cities without counties
    for kind in ("CA", "NFRA", "POST"):
        assert {a.adcode for a in d.agencies(kind)} == {a.adcode for a in d.agencies("AMR") if a.level == PROVINCE}


@pytest.mark.parametrize("adcode, is_county, city, province", [
    ("310115", True, "310000", "310000"),   # municipality districts: the province is their city level
    ("110108", True, "110000", "110000"),
    ("440106", True, "440100", "440000"),
    ("330106", True, "330100", "330000"),
    ("510107", True, "510100", "510000"),
    ("420106", True, "420100", "420000"),
    ("429004", True, "420000", "420000"),   # directly under Hubei
    ("469002", True, "460000", "460000"),   # directly under Hainan
    ("441900", True, "441900", "440000"),   # Dongguan: a city with no county level below it
    ("620200", True, "620200", "620000"),   # Jiayuguan
    ("440100", False, "440100", "440000"),
    ("110000", False, "110000", "110000"),  # a municipality is its own city level
    ("440000", False, None, "440000"),      # a province is not (Guangdong has cities)
    ("420000", False, None, "420000"),      # nor Hubei, which also has counties directly under it
    ("130101", False, None, None),
    ("999999", False, None, None),
    ("", False, None, None),
    (None, False, None, None),
])
def test_geography(d, adcode, is_county, city, province):
    assert d.is_county(adcode) is is_county
    assert d.county_amr(adcode) == (f"AMR-{adcode}" if is_county else None)
    assert d.city_of(adcode) == city
    assert d.province_of(adcode) == province


@pytest.mark.parametrize("subject_area, adcode, agency_id", [
    ("GOODS_QUALITY", "310115", "AMR-310115"),
    ("FOOD", "441900", "AMR-441900"),
    ("ENVIRONMENT", "440106", "EEB-440106"),
    ("MEDICAL", "110108", "HC-110108"),
    ("EDUCATION", "330106", "EDU-330106"),
    ("TRANSPORT", "510107", "TRANS-510107"),
    ("HOUSING", "420106", "HOUSING-420106"),
    ("TOURISM", "469002", "TOUR-469002"),
    ("TELECOM", "440106", "CA-440000"),
    ("FINANCE", "310115", "NFRA-310000"),
    ("POSTAL", "510107", "POST-510000"),
    ("TELECOM", "440100", "CA-440000"),      # a city code still names its province
    ("ENVIRONMENT", "440100", None),         # but not which district's bureau
    ("GOODS_QUALITY", "440000", None),
    ("GOODS_QUALITY", None, None),
    ("NOT_AN_AREA", "440106", None),
])
def test_competent_agency(d, subject_area, adcode, agency_id):
    assert d.competent_agency(subject_area, adcode) == agency_id


@pytest.mark.parametrize("agency_id, superiors", [
    ("AMR-440106", ["AMR-440100", "AMR-440000", "AMR-100000"]),
    ("AMR-310115", ["AMR-310000", "AMR-100000"]),
    ("AMR-429004", ["AMR-420000", "AMR-100000"]),
    ("AMR-440100", ["AMR-440000", "AMR-100000"]),
    ("AMR-440000", ["AMR-100000"]),
    ("AMR-100000", []),
    ("EEB-440106", []),
])
def test_superiors_nearest_first(d, agency_id, superiors):
    assert d.superiors(agency_id) == superiors
    assert d.parent(agency_id) == (superiors[0] if superiors else None)


@pytest.mark.parametrize("a, b, common", [
    ("AMR-440106", "AMR-440103", "AMR-440100"),   # two Guangzhou districts
    ("AMR-440106", "AMR-440303", "AMR-440000"),   # Guangzhou and Shenzhen
    ("AMR-310115", "AMR-310104", "AMR-310000"),   # two Shanghai districts
    ("AMR-429004", "AMR-420106", "AMR-420000"),   # Xiantao and a Wuhan district
    ("AMR-440106", "AMR-440100", "AMR-440000"),   # a district and its own city: the level above both
    ("AMR-440106", "AMR-310115", "AMR-100000"),   # different provinces: the national administration
    ("AMR-440000", "AMR-310000", "AMR-100000"),   # two provinces themselves
    ("AMR-440106", "AMR-100000", None),           # nobody is above the national administration
    ("EEB-440106", "EEB-440103", None),
])
def test_common_superior(d, a, b, common):
    assert d.common_superior(a, b) == common
    assert d.common_superior(b, a) == common


@pytest.mark.parametrize("upper, lower, expected", [
    ("AMR-440100", "AMR-440106", True),
    ("AMR-440000", "AMR-440106", True),
    ("AMR-310000", "AMR-310115", True),
    ("AMR-440106", "AMR-440100", False),
    ("AMR-440106", "AMR-440106", False),
    ("AMR-330100", "AMR-440106", False),
    ("AMR-440000", "AMR-999999", False),
    ("AMR-100000", "AMR-440106", True),
    ("AMR-100000", "AMR-310000", True),
    ("AMR-440000", "AMR-100000", False),
    ("AMR-100000", "EEB-440106", False),
])
def test_is_superior(d, upper, lower, expected):
    assert d.is_superior(upper, lower) is expected


def test_loads_once():
    # How long the load takes is the benchmark's business, not a test's.
    directory_module._load.cache_clear()
    directory_module._base_agencies.cache_clear()
    first = Directory.load()
    assert Directory.load() is first


def _override(tmp_path, changes) -> str:
    path = tmp_path / "directory.json"
    path.write_text(json.dumps(changes, ensure_ascii=False), encoding="utf-8")
    return str(path)


def test_override_adds_renames_and_removes(tmp_path):
    path = _override(tmp_path, {
        "add": [{"id": "AMR-500155", "name": "重庆市梁平区市场监督管理局", "level": "COUNTY",
                 "parent_id": "AMR-500000"},
                {"id": "EEB-500155", "name": "重庆市梁平区生态环境局", "level": "COUNTY"}],
        "rename": {"AMR-310115": "上海市浦东新区市场监管局"},
        "remove": ["AMR-500228", "EEB-500228", "EDU-110108"],
    })
    d = Directory.load(path)
    assert d.agency("AMR-310115").name == "上海市浦东新区市场监管局"
    assert d.county_amr("500155") == "AMR-500155" and d.city_of("500155") == "500000"
    assert d.superiors("AMR-500155") == ["AMR-500000", "AMR-100000"]
    assert d.competent_agency("ENVIRONMENT", "500155") == "EEB-500155"
    assert d.agency("EEB-500155").remit == ("ENVIRONMENT",)
    assert d.county_amr("500228") is None
    assert d.competent_agency("EDUCATION", "110108") is None
    assert Directory.load().agency("AMR-310115").name == "上海市浦东新区市场监督管理局"  # the default is untouched


def test_override_named_by_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("TOUSU_DIRECTORY_OVERRIDE", _override(tmp_path, {"remove": ["TOUR-510107"]}))
    assert not Directory.load().exists("TOUR-510107")


@pytest.mark.parametrize("changes, message", [
    ({"remove": ["AMR-440100"]}, "AMR-440103, AMR-440104, .*AMR-440106.* would be under AMR-440100,"),
    ({"remove": ["AMR-000001"]}, "cannot remove AMR-000001"),
    ({"rename": {"AMR-000001": "x"}}, "cannot rename AMR-000001"),
    ({"add": [{"id": "XYZ-440106", "name": "x", "level": "COUNTY"}]}, "known kind"),
    ({"add": [{"id": "AMR-440199", "name": "x", "level": "DISTRICT"}]}, "needs a name and a level"),
    ({"add": [{"id": "AMR-440199", "name": "x", "level": "COUNTY", "parent_id": "AMR-449900"}]},
     "AMR-440199 would be under AMR-449900,"),
    ({"add": [{"id": "EEB-440199", "name": "x", "level": "COUNTY", "remit": ["WEATHER"]}]}, "unknown subject area"),
])
def test_inconsistent_override_is_refused(tmp_path, changes, message):
    with pytest.raises(DirectoryError, match=message):
        Directory.load(_override(tmp_path, changes))
