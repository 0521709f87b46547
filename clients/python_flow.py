"""The staff and candidate flow through the generated Python client only (passerelle_client,
generated from openapi/openapi.json by .ci/clients): no HTTP request of its own.

Environment: PASSERELLE_URL, ADMIN_EMAIL, ADMIN_PASSWORD, OFFER_JSON (a file holding the body
printed by `passerelle demo-offer`). Each step asserts its status and prints one line. Prints
the created offer's slug last, on a line `slug=...`, for the browser form that follows.
"""

import datetime
import io
import json
import os
import sys
import uuid
from http import HTTPStatus

from passerelle_client import AuthenticatedClient, Client
from passerelle_client.api.applications import apply
from passerelle_client.api.auth import login
from passerelle_client.api.offers import list_public_offers
from passerelle_client.api.staff_applications import (
    download_document,
    get_application,
    list_applications,
)
from passerelle_client.api.staff_offers import create_offer, publish_offer
from passerelle_client.models import (
    ApplicationCreated,
    ApplicationFormParts,
    ApplicationFormPartsEducationLevel,
    LoginRequest,
    OfferInput,
    OfferPage,
    PageStaffApplicationListItem,
    StaffApplicationView,
    StaffOfferResponse,
    TokenResponse,
)
from passerelle_client.types import File

from sample_pdf import sample_pdf

base = os.environ["PASSERELLE_URL"]


def step(name, response, expected, parsed_type):
    if response.status_code != expected or not isinstance(response.parsed, parsed_type):
        sys.exit(f"FAIL {name}: {int(response.status_code)} (wanted {int(expected)}): "
                 f"{response.content[:500]!r}")
    print(f"ok {name}: {int(response.status_code)}")
    return response.parsed


anonymous = Client(base_url=base, raise_on_unexpected_status=True)

res = login.sync_detailed(client=anonymous, body=LoginRequest(
    email=os.environ["ADMIN_EMAIL"], password=os.environ["ADMIN_PASSWORD"]))
token = step("login as the admin", res, HTTPStatus.OK, TokenResponse).access_token
staff = AuthenticatedClient(base_url=base, token=token, raise_on_unexpected_status=True)

with open(os.environ["OFFER_JSON"], encoding="utf-8") as f:
    body = json.load(f)
res = create_offer.sync_detailed(client=staff, body=OfferInput.from_dict(body))
offer = step("create the demo offer (draft)", res, HTTPStatus.CREATED, StaffOfferResponse)
etag = res.headers.get("etag")
assert etag, "no ETag on the create response"

res = publish_offer.sync_detailed(offer.id, client=staff, if_match=etag)
published = step("publish it (If-Match: the create's ETag)", res, HTTPStatus.OK, StaffOfferResponse)
assert str(published.status.value) == "published", published.status

found, cursor, pages = None, None, 0
while found is None:
    kwargs = {"cursor": cursor} if cursor else {}
    res = list_public_offers.sync_detailed(client=anonymous, limit=100, **kwargs)
    page = step("list public offers" + (f" (page {pages + 1})" if pages else ""), res,
                HTTPStatus.OK, OfferPage)
    found = next((o for o in page.items if o.id == offer.id), None)
    cursor, pages = page.next_cursor, pages + 1
    if found is None and not cursor:
        sys.exit(f"FAIL the offer {offer.id} is not among the public offers")
print(f"ok found it: {found.slug}")

cv = sample_pdf("CV of the Python client")
today = datetime.date.today()
form = ApplicationFormParts(
    first_name="Camille", last_name="Roux", email=f"camille.roux.{uuid.uuid4().hex[:8]}@ci.passerelle.example",
    education_level=ApplicationFormPartsEducationLevel.MASTER_1, school="Université Grenoble Alpes",
    field_of_study="urbanisme",
    available_from=today + datetime.timedelta(days=30),
    available_until=today + datetime.timedelta(days=200),
    consent_privacy="true", privacy_notice_version="2026-11",
    cv=File(payload=io.BytesIO(cv), file_name="cv.pdf", mime_type="application/pdf"),
    cover_letter_text="Je souhaite rejoindre le service.",
)
res = apply.sync_detailed(found.slug, client=anonymous, body=form)
created = step("apply as a candidate (multipart, cv as File)", res, HTTPStatus.CREATED,
               ApplicationCreated)
application_id = created.application.id

res = list_applications.sync_detailed(offer.id, client=staff)
listed = step("staff: list the offer's applications", res, HTTPStatus.OK,
              PageStaffApplicationListItem)
assert any(a.id == application_id for a in listed.items), "the application is not listed"

res = get_application.sync_detailed(application_id, client=staff)
view = step("staff: read the application", res, HTTPStatus.OK, StaffApplicationView)
cvs = [d for d in view.documents if str(d.kind.value) == "cv"]
assert len(cvs) == 1, view.documents

# The spec's 200 is application/pdf, a content type openapi-python-client does not map: it
# leaves that response out, so a client raising on unexpected statuses raises on the 200. The
# bytes are in the detailed response's content, from a client that does not raise.
downloads = AuthenticatedClient(base_url=base, token=token, raise_on_unexpected_status=False)
res = download_document.sync_detailed(application_id, cvs[0].id, client=downloads)
if res.status_code != HTTPStatus.OK or res.content != cv:
    sys.exit(f"FAIL download the CV: {int(res.status_code)}, {len(res.content)} bytes "
             f"({res.headers.get('content-type')}), not the {len(cv)} bytes sent")
print(f"ok staff: download the CV: {int(res.status_code)}, the {len(cv)} bytes sent")
print(f"slug={found.slug}")
