"""Database models of the brainmaps API.

The app keeps its own users and tokens because ``django.contrib.auth`` is not
installed in the sandbox, and because brainmaps accounts are unrelated to the
BrainSTEM ones.
"""

from __future__ import annotations

import secrets

from django.contrib.auth.hashers import check_password, make_password
from django.db import models
from django.utils import timezone

READABLE_ID_PREFIX = "BM-"


def readable_id_for(number: int) -> str:
    """Return the readable id of brain number `number`.

    Parameters
    ----------
    number : int
        Primary key of the brain.

    Returns
    -------
    str
        The id shown to people, e.g. ``"BM-000123"``.

    Examples
    --------
    >>> readable_id_for(123)
    'BM-000123'
    """
    return f"{READABLE_ID_PREFIX}{number:06d}"


class User(models.Model):
    """A brainmaps account; people log in with email and password."""

    email = models.EmailField(max_length=254, unique=True)
    password = models.CharField(max_length=128)
    first_name = models.CharField(max_length=150, blank=True)
    last_name = models.CharField(max_length=150, blank=True)
    date_joined = models.DateTimeField(default=timezone.now)

    # DRF permission classes ask ``request.user.is_authenticated``; anonymous
    # requests carry ``None`` (UNAUTHENTICATED_USER), so any User is logged in.
    is_authenticated = True

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.email

    def set_password(self, raw_password: str, salt: str | None = None) -> None:
        """Store a hash of `raw_password` (a fixed `salt` keeps seeds reproducible)."""
        self.password = make_password(raw_password, salt=salt)

    def check_password(self, raw_password: str) -> bool:
        """Return whether `raw_password` matches the stored hash."""
        return check_password(raw_password, self.password)


class AuthToken(models.Model):
    """A login session: one token per successful login, deleted on logout."""

    key = models.CharField(max_length=64, primary_key=True)
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="tokens")
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"token of {self.user_id}"

    @classmethod
    def issue(cls, user: User) -> "AuthToken":
        """Create and return a new token for `user`."""
        return cls.objects.create(key=secrets.token_hex(20), user=user)


class Category(models.Model):
    """A group of species, e.g. "Rodents" or "Cephalopods"."""

    name = models.CharField(max_length=100, unique=True)
    description = models.TextField(blank=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.name


class Species(models.Model):
    """A species brains are scanned from, named by its scientific name."""

    scientific_name = models.CharField(max_length=200, unique=True)
    common_name = models.CharField(max_length=200, blank=True)
    # Filters accept "mus-musculus" as well as "Mus musculus".
    slug = models.SlugField(max_length=200, unique=True)
    category = models.ForeignKey(Category, on_delete=models.PROTECT, related_name="species")
    description = models.TextField(blank=True)

    class Meta:
        ordering = ["id"]
        verbose_name_plural = "species"

    def __str__(self) -> str:
        return self.scientific_name


class FileUpload(models.Model):
    """A file a user uploaded; only its metadata is kept, not its bytes."""

    STATUS_COMPLETE = "complete"
    STATUS_CHOICES = [(STATUS_COMPLETE, "Complete")]

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="file_uploads")
    filename = models.CharField(max_length=255)
    content_type = models.CharField(max_length=100, default="application/octet-stream")
    size = models.BigIntegerField()
    checksum = models.CharField(max_length=64, help_text="SHA-256 of the content, hex")
    status = models.CharField(max_length=20, choices=STATUS_CHOICES, default=STATUS_COMPLETE)
    uploaded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.filename


class Brain(models.Model):
    """A brain scan uploaded by a user."""

    # Null only between the insert and the update that derives it from the
    # primary key (see ``BrainSerializer.create``).
    readable_id = models.CharField(max_length=16, unique=True, null=True)
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    species = models.ForeignKey(Species, on_delete=models.PROTECT, related_name="brains")
    uploader = models.ForeignKey(User, on_delete=models.CASCADE, related_name="brains")
    verified = models.BooleanField(default=False)
    upload_date = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    file_upload = models.ForeignKey(FileUpload, on_delete=models.SET_NULL, null=True, blank=True, related_name="brains")

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.readable_id} {self.name}"
