"""Serializers of the brainmaps API: JSON shapes and input validation."""

from __future__ import annotations

import hashlib
import os
from typing import Any

from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils import timezone
from rest_framework import serializers

from brainstem_pandas.sandbox.brainmaps.models import (
    Brain,
    Category,
    FileUpload,
    Species,
    User,
    readable_id_for,
)


def find_species(value: Any) -> Species | None:
    """Look a species up by scientific name, slug or id.

    Parameters
    ----------
    value : Any
        ``"Mus musculus"`` (any case), ``"mus-musculus"``, ``"Mus+musculus"``
        (a ``+`` left over from form encoding) or a primary key.

    Returns
    -------
    Species or None
        The species, or None if nothing matches.
    """
    text = str(value).strip()
    if not text:
        return None
    if text.isdigit():
        return Species.objects.filter(pk=int(text)).first()
    for candidate in (text, text.replace("+", " ")):
        found = Species.objects.filter(scientific_name__iexact=candidate).first()
        if found is not None:
            return found
    return Species.objects.filter(slug__iexact=text).first()


def store_upload(user: User, uploaded: UploadedFile) -> FileUpload:
    """Record an uploaded file: name, type, size and SHA-256.

    The sandbox keeps no file content; the checksum lets tests verify the
    bytes arrived intact.

    Parameters
    ----------
    user : User
        The uploader.
    uploaded : UploadedFile
        The file from the multipart request.

    Returns
    -------
    FileUpload
        The saved upload record.
    """
    digest = hashlib.sha256()
    for chunk in uploaded.chunks():
        digest.update(chunk)
    return FileUpload.objects.create(
        user=user,
        filename=os.path.basename(uploaded.name or "upload")[:255],
        content_type=(uploaded.content_type or "application/octet-stream")[:100],
        size=uploaded.size,
        checksum=digest.hexdigest(),
        status=FileUpload.STATUS_COMPLETE,
    )


class UserSerializer(serializers.ModelSerializer):
    """The public part of an account, as in the login response."""

    class Meta:
        model = User
        fields = ["id", "email", "first_name", "last_name"]


class LoginSerializer(serializers.Serializer):
    """Credentials posted to ``auth/login/``."""

    email = serializers.EmailField()
    password = serializers.CharField(trim_whitespace=False)


class CategorySerializer(serializers.ModelSerializer):
    """A category of species."""

    class Meta:
        model = Category
        fields = ["id", "name", "description"]


class SpeciesSerializer(serializers.ModelSerializer):
    """A species, with its category by name and by id."""

    category = serializers.CharField(source="category.name", read_only=True)

    class Meta:
        model = Species
        fields = ["id", "scientific_name", "common_name", "slug", "category", "category_id", "description"]


class FileUploadSerializer(serializers.ModelSerializer):
    """A file upload; created from a multipart ``file`` field."""

    file = serializers.FileField(write_only=True)
    user = serializers.IntegerField(source="user_id", read_only=True)

    class Meta:
        model = FileUpload
        fields = ["id", "user", "filename", "content_type", "size", "checksum", "status", "uploaded_at", "file"]
        read_only_fields = ["filename", "content_type", "size", "checksum", "status", "uploaded_at"]

    def create(self, validated_data: dict[str, Any]) -> FileUpload:
        return store_upload(validated_data["user"], validated_data["file"])


class SpeciesField(serializers.RelatedField):
    """A species written and shown by its scientific name."""

    default_error_messages = {
        "unknown": "Unknown species {value!r}; use a scientific name such as 'Mus musculus'.",
    }

    def to_representation(self, value: Species) -> str:
        return value.scientific_name

    def to_internal_value(self, data: Any) -> Species:
        species = find_species(data)
        if species is not None:
            return species
        self.fail("unknown", value=data)
        raise AssertionError("Field.fail raises a ValidationError")  # for the type checker: DRF is untyped here


class BrainSerializer(serializers.ModelSerializer):
    """A brain scan.

    Writes take ``name``, ``species``, ``description`` and optionally a
    ``file`` (multipart) or the id of an earlier ``file_upload`` of the same
    user. ``verified`` and ``uploader`` are read-only: curators verify, and the
    uploader is whoever is logged in.
    """

    species = SpeciesField(queryset=Species.objects.all())
    uploader = serializers.IntegerField(source="uploader_id", read_only=True)
    file = serializers.FileField(write_only=True, required=False)
    file_upload = serializers.PrimaryKeyRelatedField(queryset=FileUpload.objects.all(), required=False, allow_null=True)
    file_name = serializers.SerializerMethodField()
    file_size = serializers.SerializerMethodField()

    class Meta:
        model = Brain
        fields = [
            "id",
            "readable_id",
            "name",
            "description",
            "species",
            "species_id",
            "uploader",
            "verified",
            "upload_date",
            "updated_at",
            "file_upload",
            "file_name",
            "file_size",
            "file",
        ]
        read_only_fields = ["readable_id", "verified", "upload_date", "updated_at"]
        extra_kwargs = {"description": {"required": False, "max_length": 10000}}

    def get_file_name(self, brain: Brain) -> str | None:
        return brain.file_upload.filename if brain.file_upload_id else None

    def get_file_size(self, brain: Brain) -> int | None:
        return brain.file_upload.size if brain.file_upload_id else None

    def _current_user(self) -> User:
        return self.context["request"].user

    def validate_file_upload(self, upload: FileUpload | None) -> FileUpload | None:
        # Ids of other users' uploads must not leak their files into a brain.
        if upload is not None and upload.user_id != self._current_user().pk:
            raise serializers.ValidationError(f"No file upload with id {upload.pk} of yours.")
        return upload

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs.get("file") is not None and attrs.get("file_upload") is not None:
            raise serializers.ValidationError({"file": "Send either a file or a file_upload id, not both."})
        return attrs

    def _attach_file(self, attrs: dict[str, Any]) -> dict[str, Any]:
        """Replace an uploaded ``file`` by the :class:`FileUpload` it becomes."""
        uploaded = attrs.pop("file", None)
        if uploaded is not None:
            attrs["file_upload"] = store_upload(self._current_user(), uploaded)
        return attrs

    @transaction.atomic
    def create(self, validated_data: dict[str, Any]) -> Brain:
        attrs = self._attach_file(validated_data)
        brain = Brain.objects.create(**attrs)
        # The readable id derives from the primary key, known only after insert.
        brain.readable_id = readable_id_for(brain.pk)
        brain.save(update_fields=["readable_id"])
        return brain

    @transaction.atomic
    def update(self, instance: Brain, validated_data: dict[str, Any]) -> Brain:
        attrs = self._attach_file(validated_data)
        attrs["updated_at"] = timezone.now()
        return super().update(instance, attrs)
