from app.models import TraceStatus


def test_map_page_and_login(client, make_user, login, make_trace):
    user = make_user()
    make_trace(status=TraceStatus.APPROVED)
    assert client.get("/").status_code == 200
    token = login(user)
    assert token
