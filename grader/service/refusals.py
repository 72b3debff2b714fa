"""Why an upload or a request is refused: an HTTP status and one sentence,
translated when it is sent (in the learner's language)."""

from __future__ import annotations

from ..i18n import N_, translations
from ..limits import human_size

MESSAGES = {
    "token": N_(
        "Your link or token is not valid (it may have been replaced by a newer one); "
        "ask your instructor for your personal link."
    ),
    "signin": N_(
        "Sign in first: open the personal link your instructor sent you (or send your "
        "token), then open this address again."
    ),
    "csrf": N_(
        "This page is out of date or was not opened from the service; reload it and try again."
    ),
    "forbidden": N_("This page belongs to someone else."),
    "instructor_only": N_("Only the instructor can do this."),
    "not_found": N_("There is no such submission."),
    "too_large": N_(
        "The upload is larger than the limit of {limit} of files; submit only your exercise files."
    ),
    "too_many_files": N_(
        "The upload holds more than {count} files; submit only your exercise files."
    ),
    "expands": N_(
        "The archive expands beyond the limit of {limit} of files; submit only your exercise files."
    ),
    "outside": N_(
        "The archive holds a path outside its own folder ({path}); zip your folder again."
    ),
    "link": N_("The archive holds a symbolic link ({path}); zip the files themselves."),
    "bad_zip": N_("The file is not a readable .zip archive ({why})."),
    "encrypted": N_("The archive is protected by a password; zip it again without one."),
    "empty": N_("Nothing was uploaded: choose your exercise files, your folder or a .zip."),
    "duplicate": N_("Two uploaded files have the same name ({path})."),
    "name_too_long": N_("A file name in the upload is too long ({path}); rename the file."),
    "no_exercise": N_(
        "None of the exercise files ({files}) is in the upload; submit the files "
        "of exercises/ with your work."
    ),
    "in_flight": N_(
        "Your previous submission is still being graded; wait for its report before "
        "you submit again."
    ),
    "per_hour": N_(
        "You have submitted {count} times in the last hour, the limit; try again in a few minutes."
    ),
    "bad_request": N_("The request could not be read ({why})."),
    "settings": N_("These settings were not saved: {why}"),
    "not_ready": N_("This submission has not been graded yet."),
}


class Refused(Exception):
    def __init__(self, status: int, key: str, **params) -> None:
        super().__init__(key)
        self.status = status
        self.key = key
        self.params = params

    def message(self, lang: str) -> str:
        params = {k: human_size(v) if k == "limit" else v for k, v in self.params.items()}
        return translations(lang).gettext(MESSAGES[self.key]).format(**params)
