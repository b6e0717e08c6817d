"""Free-text addresses to county-level division codes: exact where the text is
clear, unresolved (never guessed) where it is not."""
from __future__ import annotations


import pytest

from services.intake.addresses import Resolution, fill_missing_adcodes, resolve_address, warm_up


@pytest.fixture(scope="module", autouse=True)
def tables():
    warm_up()


@pytest.mark.parametrize("address, adcode", [
    ("上海市浦东新区世纪大道100号", "310115"),
    ("北京市海淀区中关村大街27号", "110108"),
    ("北京朝阳区三里屯路19号", "110105"),
    ("天津市滨海新区中新生态城", "120116"),
    ("重庆市忠县忠州街道", "500233"),
    ("广东省广州市天河区天河路208号", "440106"),
    ("深圳市南山区科技园南区", "440305"),
    ("浙江省杭州市西湖区文三路90号", "330106"),
    ("四川省成都市武侯区人民南路四段1号", "510107"),
    ("湖北省武汉市洪山区珞喻路1037号", "420111"),
    ("福建省福州市鼓楼区五四路", "350102"),
    ("新疆维吾尔自治区乌鲁木齐市天山区解放北路1号", "650102"),
    ("西藏自治区拉萨市城关区北京中路", "540102"),
    ("海淀区中关村大街1号", "110108"),  # one Haidian in the country: no province needed
])
def test_addresses_in_several_provinces(address, adcode):
    found = resolve_address(address)
    assert (found.adcode, found.source) == (adcode, "ADDRESS")


@pytest.mark.parametrize("address, adcode", [
    ("浙江省义乌市稠城街道工人北路", "330782"),  # under Jinhua: the county-level city's own code
    ("浙江义乌稠城街道", "330782"),
    ("江苏省昆山市前进西路", "320583"),
    ("新疆库尔勒市人民路", "652801"),  # under an autonomous prefecture
    ("湖北省仙桃市沔阳大道", "429004"),  # directly under the province
    ("仙桃市沔阳大道", "429004"),
])
def test_county_level_cities_resolve_to_their_own_code(address, adcode):
    assert resolve_address(address).adcode == adcode


@pytest.mark.parametrize("address, adcode", [
    ("广东省东莞市长安镇", "441900"),
    ("东莞市长安镇振安路", "441900"),
    ("广东中山市石岐区", "442000"),
    ("海南省儋州市那大镇", "460400"),
    ("甘肃省嘉峪关市新华中路", "620200"),
])
def test_cities_with_no_county_level_resolve_to_the_city(address, adcode):
    found = resolve_address(address)
    assert found.adcode == adcode and found.district is None


@pytest.mark.parametrize("address", [
    "广东省",  # a province only
    "北京市",
    "浙江省杭州市",  # a city with districts, none named
    "深圳南山",  # "南山" is no district's full name
    "朝阳区建国路88号",  # Beijing's or Changchun's
    "鼓楼区中山路",  # four Gulou districts
    "江苏省鼓楼区",  # two of them in Jiangsu alone
    "浙江省昆山市",  # Kunshan is in Jiangsu
    "中山路100号",  # a street named after Sun Yat-sen, not Zhongshan city
    "开平路3号",  # a street, not Kaiping city
    "义乌稠城街道",  # a short name with nothing around it
    "香港九龙弥敦道",
    "某省某市某区幸福路1号",
    "asdfgh",
    "   ",
    "",
    None,
])
def test_unclear_addresses_stay_unresolved(address):
    assert resolve_address(address) == Resolution(None, "UNRESOLVED")


def test_the_names_of_the_divisions_are_given():
    assert resolve_address("广东省广州市天河区天河路208号") == Resolution("440106", "ADDRESS", "广东省", "广州市", "天河区")
    # In a municipality the city level is a placeholder in the tables, not a name.
    assert resolve_address("上海市浦东新区世纪大道100号") == Resolution("310115", "ADDRESS", "上海市", None, "浦东新区")


def test_an_address_seen_before_is_not_parsed_again():
    # How fast parsing is belongs to the benchmark; here, that a repeat costs a lookup.
    first = resolve_address("四川省成都市武侯区人民南路四段1号")
    hits = resolve_address.cache_info().hits
    for _ in range(100):
        assert resolve_address("四川省成都市武侯区人民南路四段1号") is first
    assert resolve_address.cache_info().hits == hits + 100


def body(respondent: dict | None = None, transaction: dict | None = None) -> dict:
    return {"kind": "COMPLAINT", "respondent": respondent or {}, "transaction": transaction or {"online": False}}


def test_a_provided_code_is_kept():
    filled = fill_missing_adcodes(body({"address": "北京市海淀区中关村大街27号", "adcode": "310115"},
                                       {"online": False, "place_adcode": "310104"}))
    assert filled["respondent"]["adcode"] == "310115" and filled["respondent"]["adcode_source"] == "PROVIDED"
    assert filled["transaction"]["place_adcode_source"] == "PROVIDED"


def test_a_missing_respondent_code_comes_from_the_address():
    filled = fill_missing_adcodes(body({"name": "某某餐饮", "address": "湖北省武汉市洪山区珞喻路1037号", "adcode": None}))
    assert filled["respondent"]["adcode"] == "420111" and filled["respondent"]["adcode_source"] == "ADDRESS"


@pytest.mark.parametrize("respondent", [{"address": "朝阳区建国路88号"}, {"address": None}, {}])
def test_an_unclear_or_absent_address_leaves_the_code_unresolved(respondent):
    filled = fill_missing_adcodes(body(respondent))
    assert filled["respondent"]["adcode"] is None and filled["respondent"]["adcode_source"] == "UNRESOLVED"


def test_the_place_of_the_act_is_never_taken_from_the_operators_address():
    filled = fill_missing_adcodes(body({"address": "上海市浦东新区世纪大道100号"}, {"online": False}))
    assert filled["respondent"]["adcode"] == "310115"
    assert filled["transaction"]["place_adcode"] is None
    assert filled["transaction"]["place_adcode_source"] == "UNRESOLVED"


def test_the_body_given_is_not_changed():
    original = body({"address": "上海市浦东新区世纪大道100号"})
    fill_missing_adcodes(original)
    assert original == body({"address": "上海市浦东新区世纪大道100号"})


def test_a_consultation_has_nothing_to_fill():
    consultation = {"kind": "CONSULTATION", "question": "怎么投诉？"}
    assert fill_missing_adcodes(consultation) == consultation
