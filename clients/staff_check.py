"""What the browser form stored, read back as staff through the generated client only: the
application has the CV the browser attached and the typed cover letter, and the empty
`cover_letter` file input made no document.

Environment: PASSERELLE_URL, ADMIN_EMAIL, ADMIN_PASSWORD, APPLICATION_ID.
"""

import os
import sys
from http import HTTPStatus
from uuid import UUID

from passerelle_client import AuthenticatedClient, Client
from passerelle_client.api.auth import login
from passerelle_client.api.staff_applications import download_document, get_application
from passerelle_client.models import LoginRequest, StaffApplicationView, TokenResponse

from sample_pdf import sample_pdf

base = os.environ["PASSERELLE_URL"]
res = login.sync_detailed(client=Client(base_url=base), body=LoginRequest(
    email=os.environ["ADMIN_EMAIL"], password=os.environ["ADMIN_PASSWORD"]))
if res.status_code != HTTPStatus.OK or not isinstance(res.parsed, TokenResponse):
    sys.exit(f"FAIL login: {int(res.status_code)}: {res.content[:300]!r}")
staff = AuthenticatedClient(base_url=base, token=res.parsed.access_token)

res = get_application.sync_detailed(UUID(os.environ["APPLICATION_ID"]), client=staff)
if res.status_code != HTTPStatus.OK or not isinstance(res.parsed, StaffApplicationView):
    sys.exit(f"FAIL read the application: {int(res.status_code)}: {res.content[:300]!r}")
view = res.parsed
kinds = sorted(str(d.kind.value) for d in view.documents)
if kinds != ["cv"]:
    sys.exit(f"FAIL the browser's application has documents {kinds}, wanted only the cv")
if "formulaire du site" not in (view.cover_letter_text or ""):
    sys.exit(f"FAIL cover_letter_text not kept: {view.cover_letter_text!r}")
print(f"ok staff: the browser's application: {int(res.status_code)}, documents {kinds}, "
      "cover letter text kept")

res = download_document.sync_detailed(view.id, view.documents[0].id, client=staff)
if res.status_code != HTTPStatus.OK or res.content != sample_pdf("CV sent by a browser form"):
    sys.exit(f"FAIL download its CV: {int(res.status_code)}, {len(res.content)} bytes")
print(f"ok staff: its CV: {int(res.status_code)}, the bytes the browser sent")
