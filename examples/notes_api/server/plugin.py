"""Notes API: personal notes behind a JSON API, a FastAPI app mounted on ``ServeHTTP``.

Below ``/plugins/com.example.notes-api``:

    GET    /notes                   your notes
    POST   /notes                   add one: {"title": "…", "body": "…"} → 201 and the note
    GET    /notes/{id}              one of your notes (404 for anyone else's)
    PUT    /notes/{id}              change it
    DELETE /notes/{id}              delete it → 204
    GET    /me                      who you are, and how many notes you have
    GET    /users/{user_id}/notes   a user's notes, for system admins

Mattermost passes each request to the plugin with the logged-in user's id, and the routes
take it with the SDK's dependencies (``UserId``, ``CurrentUser``, ``SystemAdmin``): a request
without a session gets 401, and nobody reaches another user's notes. Each user's notes are
one value of a KV collection, changed with ``update`` (a compare-and-set, retried), so two
requests at once, even on two server nodes, cannot lose a note.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse
from mattermost_plugin import Plugin, mount_asgi
from mattermost_plugin.clock import now
from mattermost_plugin.integrations.fastapi import (
    AsyncAPI,
    CurrentUser,
    PluginObject,
    SystemAdmin,
    UserId,
    handle_api_errors,
)
from mattermost_plugin.kv import AsyncCollection
from pydantic import BaseModel, Field

MAX_NOTES = 100
"""Notes per user: a user's notes are one KV value, which should stay small."""


class NoteIn(BaseModel):
    """What a client sends to add or change a note."""

    title: str = Field(min_length=1, max_length=200)
    body: str = Field(default="", max_length=10_000)


class Note(NoteIn):
    """A stored note."""

    id: int
    created_at: datetime
    updated_at: datetime


class NoSuchNoteError(LookupError):
    """The user has no note with that id."""


class NotebookFullError(Exception):
    """The user has :data:`MAX_NOTES` notes already."""


class Notebook(BaseModel):
    """One user's notes, as stored in the KV store. The changing methods return the notebook,
    to store (they are the functions given to the collection's ``update``)."""

    next_id: int = 1
    notes: dict[int, Note] = {}

    @property
    def newest(self) -> Note:
        """The note added last."""
        return self.get(self.next_id - 1)

    def get(self, note_id: int) -> Note:
        """The note ``note_id`` (raises :class:`NoSuchNoteError`)."""
        try:
            return self.notes[note_id]
        except KeyError:
            raise NoSuchNoteError(note_id) from None

    def add(self, new: NoteIn) -> Notebook:
        """Add ``new`` as a note with the next id (raises :class:`NotebookFullError`)."""
        if len(self.notes) >= MAX_NOTES:
            raise NotebookFullError
        moment = now()
        self.notes[self.next_id] = Note(
            id=self.next_id, created_at=moment, updated_at=moment, **new.model_dump()
        )
        self.next_id += 1
        return self

    def change(self, note_id: int, new: NoteIn) -> Notebook:
        """Give the note ``note_id`` the title and body of ``new``."""
        changes = {**new.model_dump(), "updated_at": now()}
        self.notes[note_id] = self.get(note_id).model_copy(update=changes)
        return self

    def remove(self, note_id: int) -> Notebook:
        """Delete the note ``note_id``."""
        del self.notes[self.get(note_id).id]
        return self


def notebooks(plugin: PluginObject) -> AsyncCollection[Notebook]:
    """The plugin's collection of notebooks, by user id."""
    return plugin.async_kv.collection("notebooks", Notebook)


Notebooks = Annotated[AsyncCollection[Notebook], Depends(notebooks)]
"""A route parameter annotated ``Notebooks`` gets the collection."""

app = FastAPI(title="Notes API")
handle_api_errors(app)  # the API's NotFoundError → 404, PermissionDeniedError → 403


@app.exception_handler(NoSuchNoteError)
async def no_such_note(request: Request, error: NoSuchNoteError) -> JSONResponse:
    """A note the user does not have, in any route: 404."""
    return JSONResponse({"detail": "no such note"}, status_code=404)


async def read(notes: AsyncCollection[Notebook], user_id: str) -> Notebook:
    """The user's notebook (empty when they have none yet)."""
    return await notes.get(user_id) or Notebook()


@app.get("/notes")
async def list_notes(user_id: UserId, notes: Notebooks) -> list[Note]:
    """The logged-in user's notes, oldest first."""
    return list((await read(notes, user_id)).notes.values())


@app.post("/notes", status_code=201)
async def add_note(new: NoteIn, user_id: UserId, notes: Notebooks) -> Note:
    """Add a note; 409 when the user has :data:`MAX_NOTES` already."""
    try:
        stored = await notes.update(user_id, lambda notebook: (notebook or Notebook()).add(new))
    except NotebookFullError:
        raise HTTPException(409, f"You have {MAX_NOTES} notes: delete some first.") from None
    return stored.newest


@app.get("/notes/{note_id}")
async def get_note(note_id: int, user_id: UserId, notes: Notebooks) -> Note:
    """One of the user's notes."""
    return (await read(notes, user_id)).get(note_id)


@app.put("/notes/{note_id}")
async def change_note(note_id: int, new: NoteIn, user_id: UserId, notes: Notebooks) -> Note:
    """Replace a note's title and body."""
    stored = await notes.update(
        user_id, lambda notebook: (notebook or Notebook()).change(note_id, new)
    )
    return stored.get(note_id)


@app.delete("/notes/{note_id}", status_code=204)
async def delete_note(note_id: int, user_id: UserId, notes: Notebooks) -> None:
    """Delete one of the user's notes."""
    await notes.update(user_id, lambda notebook: (notebook or Notebook()).remove(note_id))


class Me(BaseModel):
    """Who is asking, and how many notes they have."""

    username: str
    notes: int


@app.get("/me")
async def me(user: CurrentUser, notes: Notebooks) -> Me:
    """The logged-in user (fetched with the API) and how many notes they have."""
    return Me(username=user.username, notes=len((await read(notes, user.id)).notes))


@app.get("/users/{user_id}/notes")
async def notes_of(
    user_id: str, admin_id: SystemAdmin, api: AsyncAPI, notes: Notebooks
) -> list[Note]:
    """A user's notes, for system admins (403 for others); 404 for an unknown user."""
    await api.get_user(user_id)  # NotFoundError → 404
    return list((await read(notes, user_id)).notes.values())


class NotesPlugin(Plugin):
    """The plugin is the app: requests to ``/plugins/com.example.notes-api/…`` reach it."""

    serve_http = mount_asgi(app)


if __name__ == "__main__":
    from mattermost_plugin.server import run_plugin

    run_plugin(NotesPlugin)
