"""The address book (Seed A "Addresses"): owner only, one default shipping and billing address,
validated per country (services.addresses.validate_address, which the checkout reuses)."""
from __future__ import annotations

import pytest

from services import addresses as address_service
from services.errors import Invalid

from .conftest import error_code

URL = "/api/addresses"
PT = {"name": "Ana Buyer", "line1": "Rua das Flores 12", "city": "Lisboa", "postal_code": "1200-195", "country": "PT"}

# A valid address of each country the store ships to, and a postal code that country refuses.
COUNTRIES = {
    "PT": ({"city": "Lisboa", "postal_code": "1200-195"}, "1200"),
    "ES": ({"city": "Madrid", "region": "Madrid", "postal_code": "28001"}, "2800"),
    "FR": ({"city": "Paris", "postal_code": "75001"}, "7500A"),
    "DE": ({"city": "Berlin", "postal_code": "10115"}, "1011"),
    "GB": ({"city": "London", "postal_code": "SW1A 1AA"}, "12345"),
    "US": ({"city": "San Francisco", "region": "CA", "postal_code": "94103"}, "9410"),
    "NL": ({"city": "Amsterdam", "postal_code": "1012 AB"}, "10123"),
    "IT": ({"city": "Roma", "region": "RM", "postal_code": "00184"}, "0018"),
    "BR": ({"city": "São Paulo", "region": "SP", "postal_code": "01310-100"}, "0131"),
    "CA": ({"city": "Ottawa", "region": "ON", "postal_code": "K1A 0B1"}, "12345"),
}


@pytest.mark.parametrize("country", sorted(COUNTRIES))
def test_validate_address_knows_each_countrys_postal_codes(country):
    good, bad_code = COUNTRIES[country]
    clean = address_service.validate_address({"name": "A B", "line1": "1 Main", "country": country.lower(), **good})
    assert clean["country"] == country and clean["postal_code"]
    with pytest.raises(Invalid) as refused:
        address_service.validate_address({"name": "A B", "line1": "1 Main", "country": country, **good,
                                          "postal_code": bad_code})
    assert refused.value.code == "invalid_address" and "postal_code" in refused.value.details


def test_validate_address_names_missing_fields_in_our_words():
    with pytest.raises(Invalid) as refused:
        address_service.validate_address({"name": "A", "line1": "1 Main", "city": "Austin", "postal_code": "78701",
                                          "country": "US"})
    assert refused.value.details == {"region": ["Enter the region: United States addresses need one"]}
    assert refused.value.message == "Enter the region: United States addresses need one"
    with pytest.raises(Invalid) as refused:
        address_service.validate_address({"country": "ZZ"})
    assert refused.value.details == {"name": ["Enter the recipient's name"], "line1": ["Enter the street address"],
                                     "country": ["Not a known country: use its two-letter code, such as PT"]}
    assert refused.value.message == "Check the address: recipient's name, street address, country"
    with pytest.raises(Invalid) as refused:  # every problem at once, the country's own rules included
        address_service.validate_address({"line1": "1 Rua", "country": "PT"})
    assert refused.value.details == {"name": ["Enter the recipient's name"],
                                     "city": ["Enter the city: Portugal addresses need one"],
                                     "postal_code": ["Enter the postal code: Portugal addresses need one"]}
    with pytest.raises(Invalid) as refused:
        address_service.validate_address({"name": "A", "line1": "1", "country": "ZZ"})
    assert refused.value.details == {"country": ["Not a known country: use its two-letter code, such as PT"]}
    normal = address_service.validate_address({"name": "A", "line1": "1", "city": "London", "country": "gb",
                                               "postal_code": "sw1a 1aa"})
    assert normal["postal_code"] == "SW1A 1AA" and normal["city"] == "London"


def test_a_customer_keeps_addresses_and_the_first_is_both_defaults(client, user_headers):
    first = client.post(URL, json=PT, headers=user_headers)
    assert first.status_code == 201, first.get_json()
    assert first.get_json()["is_default_shipping"] and first.get_json()["is_default_billing"]
    second = client.post(URL, json={**PT, "name": "Office", "company": "ACME", "line2": "3º Esq"},
                         headers=user_headers).get_json()
    assert not second["is_default_shipping"] and second["company"] == "ACME"
    listed = client.get(URL, headers=user_headers).get_json()
    assert listed["total"] == 2 and listed["items"][0]["id"] == first.get_json()["id"]
    changed = client.put(f"{URL}/{second['id']}", json={"city": "Porto", "postal_code": "4000-322",
                                                       "is_default_shipping": True}, headers=user_headers)
    assert changed.status_code == 200 and changed.get_json()["city"] == "Porto"
    listed = {a["id"]: a for a in client.get(URL, headers=user_headers).get_json()["items"]}
    assert listed[second["id"]]["is_default_shipping"] and not listed[first.get_json()["id"]]["is_default_shipping"]
    assert listed[first.get_json()["id"]]["is_default_billing"]
    bad = client.put(f"{URL}/{second['id']}", json={"country": "US"}, headers=user_headers)
    assert bad.status_code == 422 and error_code(bad) == "invalid_address"
    assert "region" in bad.get_json()["error"]["details"]  # a US address needs its state
    assert client.delete(f"{URL}/{second['id']}", headers=user_headers).status_code == 200
    assert client.get(URL, headers=user_headers).get_json()["total"] == 1
    assert client.get(URL).status_code == 401


def test_another_users_address_is_not_found(client, make, store, user_headers):
    mine = client.post(URL, json=PT, headers=user_headers).get_json()
    other = make.headers(make.user(store), store)
    assert client.put(f"{URL}/{mine['id']}", json={"city": "Faro"}, headers=other).status_code == 404
    gone = client.delete(f"{URL}/{mine['id']}", headers=other)
    assert gone.status_code == 404 and error_code(gone) == "address_not_found"
    assert client.get(URL, headers=other).get_json()["total"] == 0
    assert client.post(URL, json={**PT, "user_id": "x"}, headers=other).status_code == 422
