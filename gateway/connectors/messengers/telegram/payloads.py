"""The parts of the Bot API `Update` the gateway reads (core.telegram.org/bots/api#update)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["BusinessMessagesDeleted", "Chat", "Contact", "FileRef", "Message", "PhotoSize", "Update", "User"]

MESSAGE_FIELDS = ("message", "edited_message", "business_message", "edited_business_message")
CHANNEL_FIELDS = ("channel_post", "edited_channel_post")


class _Payload(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)


class User(_Payload):
    id: int
    is_bot: bool = False
    first_name: str = ""
    last_name: str | None = None
    username: str | None = None
    language_code: str | None = None


class Chat(_Payload):
    id: int
    type: str = "private"
    title: str | None = None
    username: str | None = None


class PhotoSize(_Payload):
    file_id: str
    file_unique_id: str
    width: int = 0
    height: int = 0
    file_size: int | None = None


class FileRef(_Payload):
    """Document, Voice, Audio, Video, VideoNote, Animation: the fields they share."""

    file_id: str
    file_unique_id: str
    file_name: str | None = None
    mime_type: str | None = None
    file_size: int | None = None
    duration: int | None = None


class Sticker(_Payload):
    file_id: str
    file_unique_id: str
    emoji: str | None = None


class Contact(_Payload):
    phone_number: str
    first_name: str = ""
    last_name: str | None = None
    user_id: int | None = None


class Location(_Payload):
    latitude: float
    longitude: float


class ReplyTo(_Payload):
    message_id: int


class Message(_Payload):
    message_id: int
    from_: User | None = Field(default=None, alias="from")
    sender_chat: Chat | None = None
    date: int
    edit_date: int | None = None
    chat: Chat
    business_connection_id: str | None = None
    reply_to_message: ReplyTo | None = None
    text: str | None = None
    caption: str | None = None
    contact: Contact | None = None
    location: Location | None = None
    photo: list[PhotoSize] | None = None
    document: FileRef | None = None
    voice: FileRef | None = None
    audio: FileRef | None = None
    video: FileRef | None = None
    video_note: FileRef | None = None
    animation: FileRef | None = None
    sticker: Sticker | None = None


class BusinessMessagesDeleted(_Payload):
    business_connection_id: str
    chat: Chat
    message_ids: list[int]


class Update(_Payload):
    update_id: int
    message: Message | None = None
    edited_message: Message | None = None
    business_message: Message | None = None
    edited_business_message: Message | None = None
    channel_post: Message | None = None
    edited_channel_post: Message | None = None
    deleted_business_messages: BusinessMessagesDeleted | None = None
