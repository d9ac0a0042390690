"""A local stand-in for the providers' APIs the demo's connectors call, served by the demo itself.

It answers in the providers' documented shapes (protocols.md) and checks the demo's credentials
as they do: Mango's recording query (signed form, 302 to a link, then the audio), Telegram's
getFile and file download and sendMessage, VK's users.get, messages.send and photo links,
WhatsApp's media lookup and download and message sending.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import time
from urllib.parse import parse_qs

from aiohttp import web

from gateway.connectors.telephony.mango.signature import verify
from gateway.demo.media import photo_png, recording_wav
from gateway.demo.settings import MANGO, TELEGRAM, VK, WHATSAPP

__all__ = ["stand_in_app"]

FIRST = ("Анна", "Борис", "Вера", "Глеб", "Дарья", "Егор", "Жанна", "Захар")
LAST = ("Орлова", "Павлов", "Руднева", "Соколов", "Титова", "Уваров")
_ids = itertools.count(1)


async def _form(request: web.Request) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs((await request.read()).decode("utf-8", "replace")).items()}


# --- Mango Office VPBX -------------------------------------------------------------------------------
async def mango_recording(request: web.Request) -> web.Response:
    form = await _form(request)
    if form.get("vpbx_api_key") != MANGO["api_key"] or \
            not verify(MANGO["api_key"], form.get("json", ""), MANGO["api_salt"], form.get("sign", "")):
        return web.json_response({"result": 3102})  # Mango: wrong signature
    recording = json.loads(form["json"]).get("recording_id", "")
    link = hashlib.sha256(recording.encode()).hexdigest()[:32]
    raise web.HTTPFound(request.app.router["mango-file"].url_for(link=link))


async def mango_file(_request: web.Request) -> web.Response:
    return web.Response(body=recording_wav(), content_type="audio/wav")


async def mango_command(_request: web.Request) -> web.Response:
    return web.json_response({"result": 1000})  # "accepted"


# --- Telegram Bot API --------------------------------------------------------------------------------
def _telegram_token_ok(request: web.Request) -> bool:
    return request.match_info["token"] == TELEGRAM["token"]


def _telegram(result: object) -> web.Response:
    return web.json_response({"ok": True, "result": result})


async def telegram_method(request: web.Request) -> web.Response:
    if not _telegram_token_ok(request):
        return web.json_response({"ok": False, "error_code": 401, "description": "Unauthorized"}, status=401)
    method = request.match_info["method"]
    body = await request.json() if request.can_read_body else {}
    if method == "getFile":
        file_id = str(body.get("file_id", ""))
        return _telegram({"file_id": file_id, "file_unique_id": file_id[-16:], "file_size": len(photo_png()),
                          "file_path": f"photos/{hashlib.sha256(file_id.encode()).hexdigest()[:16]}.png"})
    if method == "sendMessage":
        return _telegram({"message_id": next(_ids), "date": int(time.time()), "text": body.get("text", ""),
                          "chat": {"id": body.get("chat_id"), "type": "private"}})
    if method == "getWebhookInfo":
        return _telegram({"url": "", "has_custom_certificate": False, "pending_update_count": 0})
    return _telegram(True)  # setWebhook, deleteWebhook


async def telegram_file(request: web.Request) -> web.Response:
    if not _telegram_token_ok(request):
        return web.Response(status=404)
    return web.Response(body=photo_png(), content_type="image/png")


# --- VK API ------------------------------------------------------------------------------------------
async def vk_method(request: web.Request) -> web.Response:
    form = await _form(request)
    if form.get("access_token") != VK["access_token"]:
        return web.json_response({"error": {"error_code": 5, "error_msg": "User authorization failed"}})
    method = request.match_info["method"]
    if method == "users.get":
        users = []
        for raw in form.get("user_ids", "").split(","):
            uid = int(raw) if raw.strip().isdigit() else 0
            users.append({"id": uid, "first_name": FIRST[uid % len(FIRST)], "last_name": LAST[uid % len(LAST)]})
        return web.json_response({"response": users})
    if method == "messages.send":
        return web.json_response({"response": next(_ids)})
    return web.json_response({"error": {"error_code": 3, "error_msg": "Unknown method passed"}})


async def vk_photo(_request: web.Request) -> web.Response:
    return web.Response(body=photo_png(), content_type="image/png")


# --- WhatsApp Cloud API ------------------------------------------------------------------------------
def _whatsapp_refused(request: web.Request) -> web.Response | None:
    if request.headers.get("Authorization") == f"Bearer {WHATSAPP['access_token']}":
        return None
    return web.json_response({"error": {"message": "Invalid OAuth access token.", "type": "OAuthException",
                                        "code": 190}}, status=401)


async def whatsapp_media(request: web.Request) -> web.Response:
    if (refused := _whatsapp_refused(request)) is not None:
        return refused
    media_id = request.match_info["media_id"]
    data = photo_png()
    return web.json_response({"messaging_product": "whatsapp", "id": media_id, "mime_type": "image/png",
                              "sha256": hashlib.sha256(data).hexdigest(), "file_size": len(data),
                              "url": str(request.url.with_path(str(request.app.router["whatsapp-file"]
                                                                   .url_for(media_id=media_id))))})


async def whatsapp_file(request: web.Request) -> web.Response:
    if (refused := _whatsapp_refused(request)) is not None:
        return refused
    return web.Response(body=photo_png(), content_type="image/png")


async def whatsapp_send(request: web.Request) -> web.Response:
    if (refused := _whatsapp_refused(request)) is not None:
        return refused
    to = str((await request.json()).get("to", ""))
    return web.json_response({"messaging_product": "whatsapp", "contacts": [{"input": to, "wa_id": to}],
                              "messages": [{"id": f"wamid.DEMO{next(_ids):012d}"}]})


def stand_in_app() -> web.Application:
    app = web.Application()
    app.router.add_post("/mango/vpbx/queries/recording/post", mango_recording)
    app.router.add_get("/mango/files/{link}", mango_file, name="mango-file")
    app.router.add_post("/mango/vpbx/commands/{name:.+}", mango_command)
    app.router.add_post("/telegram/bot{token}/{method}", telegram_method)
    app.router.add_get("/telegram/file/bot{token}/{path:.+}", telegram_file)
    app.router.add_post("/vk/method/{method}", vk_method)
    app.router.add_get("/vk/userapi/{path:.+}", vk_photo)
    app.router.add_get("/whatsapp/v21.0/{media_id}", whatsapp_media)
    app.router.add_get("/whatsapp/files/{media_id}", whatsapp_file, name="whatsapp-file")
    app.router.add_post("/whatsapp/v21.0/{phone_number_id}/messages", whatsapp_send)
    return app
