def test_a_new_appeal_has_raised_nothing(client, seed_appeal):
    response = client.get("/api/v1/appeals/sun-ukraine-fund/totals")

    assert response.status_code == 200
    assert response.json() == {
        "slug": "sun-ukraine-fund", "status": "live", "currency": "GBP", "raised_pence": 0, "pending_pence": 0,
        "donation_count": 0, "by_channel": {"carrier_sms": 0, "text_to_link": 0, "online": 0},
        "pending_by_channel": {"carrier_sms": 0, "text_to_link": 0, "online": 0},
        "partners": [{"slug": "the-sun", "name": "The Sun", "raised_pence": 0, "donors": 0}],
    }


def test_an_unknown_appeal_is_a_404_that_names_it(client, seed_appeal):
    response = client.get("/api/v1/appeals/no-such-appeal/totals")

    assert response.status_code == 404
    assert "no-such-appeal" in response.json()["detail"]


def test_health_and_the_api_contract_are_served(client):
    assert client.get("/healthz").json() == {"status": "ok"}
    assert "/api/v1/appeals/{slug}/totals" in client.get("/openapi.json").json()["paths"]
    assert client.get("/docs").status_code == 404  # Swagger UI is off unless EVERYPENNY_API_DOCS asks for it
