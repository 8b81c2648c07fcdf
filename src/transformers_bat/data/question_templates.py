"""Our own paraphrases of the SpatialSoundQA base questions (paper Table 9), ten or more per base question.

Placeholders: ``{event}`` / ``{e1}`` / ``{e2}`` are class display names of source 1 / source 2, ``{d}``, ``{d1}``,
``{d2}``, ``{d3}`` are octant words ("left", "front", "below", ...), ``{distance}`` is a spoken distance such as
"2.5 meters", ``{options}`` / ``{options_of}`` offer the two words of one axis ("to the left or to the right
(of)"). The template index is stored in every record (``template_id``) so a question can be re-rendered later.
"""

from __future__ import annotations

from . import question_types as qt

# Keys are (question_type, form); form is "" where a type has a single base question.
TEMPLATES: dict[tuple[str, str], tuple[str, ...]] = {
    (qt.CLASSIFICATION, ""): (
        "Identify the sound events in the audio clip.",
        "Which sound events can you hear in this recording?",
        "List every kind of sound present in the clip.",
        "What sounds does this audio contain?",
        "Name the sound categories you detect in this audio.",
        "What can be heard in this recording?",
        "Tell me which sound events occur in the audio.",
        "Which audio event classes are present here?",
        "Describe the types of sound in this clip.",
        "What sort of sounds are captured in the audio?",
        "Recognise the sound events in this recording, please.",
        "Which sources of sound does this clip include?",
    ),
    (qt.DOA, ""): (
        "Where is the audio clip coming from?",
        "From which direction and how far away does this sound come?",
        "Locate the sound source in this recording.",
        "Where is the source of this sound, and at what distance?",
        "Describe the position of the sound you hear.",
        "In which direction and at what range is the sound source?",
        "Where would you place the sound in this clip relative to you?",
        "Tell me the direction and distance of the sound.",
        "Where does the sound in this recording originate?",
        "Estimate where the sound source is located.",
        "Pinpoint the direction and distance of the audio source.",
    ),
    (qt.DOA, "event"): (
        "How would you describe the location of the {event}'s sound?",
        "Where is the sound of the {event} coming from?",
        "From which direction and how far away do you hear the {event}?",
        "Locate the {event} in this recording.",
        "At what distance and in which direction is the {event}?",
        "Where is the {event} relative to you?",
        "Tell me where the {event} sound originates.",
        "Which direction does the {event} come from, and how far is it?",
        "Estimate the position of the {event}.",
        "Where would you place the source of the {event}?",
        "Pinpoint the {event}: direction and distance.",
    ),
    (qt.MIXUP_SINGLE_CLASSIFICATION, ""): (
        "Identify the sound events in the audio clip coming from the {d1}, {d2}, {d3}, approximately {distance} away.",
        "Which sounds come from the {d1}, {d2}, {d3}, about {distance} from you?",
        "What do you hear from the {d1}, {d2}, {d3} at roughly {distance}?",
        "Name the sound events located {d1}, {d2}, {d3}, around {distance} away.",
        "Which sound classes originate from the {d1}, {d2}, {d3} direction, some {distance} away?",
        "What is the source of the sound from the {d1}, {d2}, {d3}, about {distance} distant?",
        "Tell me what is making the sound on the {d1}, {d2}, {d3}, approximately {distance} away.",
        "List the sound events that reach you from the {d1}, {d2}, {d3}, near {distance} away.",
        "Recognise the sound coming from the {d1}, {d2}, {d3} at a distance of about {distance}.",
        "What kind of sound is there to the {d1}, {d2}, {d3}, roughly {distance} away?",
        "Identify the sound placed {d1}, {d2}, {d3} of you, approximately {distance} off.",
    ),
    (qt.MIXUP_SINGLE_DOA, ""): (
        "Where is the sound of the {event} coming from?",
        "In which direction and how far away is the source of the {event}'s sound?",
        "Locate the {event} in this mixture.",
        "Where is the {event}, and how far from you?",
        "From where does the {event} reach you, and at what distance?",
        "Tell me the direction and distance of the {event}.",
        "Describe the position of the {event}'s sound.",
        "Where would you place the {event} relative to yourself?",
        "Estimate the direction and range of the {event}.",
        "Which way and how far is the {event} sound?",
        "Pinpoint where the {event} is in this recording.",
    ),
    (qt.MIXUP_DIRECTION, "both"): (
        "Do the sound of {e1} and the sound of {e2} both come from your {d} side?",
        "Are both the {e1} and the {e2} on your {d} side?",
        "Is the source of both {e1} and {e2} on your {d}?",
        "Do {e1} and {e2} each reach you from the {d}?",
        "Are the {e1} sound and the {e2} sound both located to your {d}?",
        "Would you say that the {e1} and the {e2} are both on the {d} side?",
        "Are the {e1} and the {e2} both heard from your {d} side?",
        "Is it true that both {e1} and {e2} come from the {d}?",
        "Do you hear both the {e1} and the {e2} on your {d}?",
        "Are both sounds, {e1} and {e2}, positioned on the {d} side of you?",
        "Do the {e1} and the {e2} share the {d} side?",
    ),
    (qt.MIXUP_DIRECTION, "pair"): (
        "Can you hear the {e1}'s sound from the {d1} and the {e2}'s from the {d2}?",
        "Is the {e1} on the {d1} and the {e2} on the {d2}?",
        "Does the {e1} come from your {d1} while the {e2} comes from your {d2}?",
        "Is the sound of {e1} to the {d1} and the sound of {e2} to the {d2}?",
        "Are the {e1} on your {d1} side and the {e2} on your {d2} side?",
        "Do you hear {e1} from the {d1} side and {e2} from the {d2} side?",
        "Is it the case that the {e1} is {d1} and the {e2} is {d2} of you?",
        "Would you place the {e1} on the {d1} and the {e2} on the {d2}?",
        "Does the {e1} sound reach you from the {d1}, and the {e2} sound from the {d2}?",
        "Is the {e1} heard on the {d1} side and the {e2} on the {d2} side?",
        "Are the sources of {e1} and {e2} on your {d1} and {d2} respectively?",
    ),
    (qt.MIXUP_DIRECTION, "relative"): (
        "Would you find the sound of {e1} on the {d} side of the sound of {e2}?",
        "Is the {e1} on the {d} side of the {e2}?",
        "Does the sound of {e1} appear on the {d} of the sound of {e2}?",
        "Relative to the {e2}, is the {e1} further to the {d}?",
        "Is the {e1} located {d} of the {e2}?",
        "Compared with the {e2}, does the {e1} lie more to the {d}?",
        "Is the source of {e1} placed on the {d} side of the source of {e2}?",
        "Seen from you, is the {e1} to the {d} of the {e2}?",
        "Does the {e1} sit on the {d} side relative to the {e2}?",
        "Would you say the {e1} is {d} compared with the {e2}?",
        "Is the {e1}'s sound on the {d} side of the {e2}'s sound?",
    ),
    (qt.MIXUP_DISTANCE_BOTH, ""): (
        "In terms of straight-line distance, does the sound of {e1} reach you from a closer point compared to the "
        "sound of {e2}?",
        "Is the {e1} closer to you than the {e2}?",
        "When measuring the direct distance, is the sound of {e1} nearer to you than the sound of {e2}?",
        "Does the {e1} come from nearer than the {e2}?",
        "Is the source of {e1} at a shorter distance from you than the source of {e2}?",
        "Comparing distances, is the {e1} nearer than the {e2}?",
        "Is the {e1} sound produced closer to you than the {e2} sound?",
        "Would you say the {e1} is less far away than the {e2}?",
        "Measured in a straight line, is the {e1} nearer to you than the {e2}?",
        "Of the two, is the {e1} the one closer to you, rather than the {e2}?",
        "Is the distance to the {e1} smaller than the distance to the {e2}?",
    ),
    (qt.MIXUP_NONBINARY_DIRECTION, ""): (
        "Could you determine whether the {e1}'s sound is {options_of} the {e2}'s sound?",
        "Is the {e1} {options_of} the {e2}?",
        "Relative to the {e2}, is the {e1} {options}?",
        "Compared with the sound of {e2}, is the sound of {e1} {options}?",
        "Which is it: is the {e1} {options_of} the {e2}?",
        "Seen from you, does the {e1} lie {options_of} the {e2}?",
        "Tell me whether the {e1} is {options_of} the {e2}.",
        "Is the source of {e1} placed {options_of} the source of {e2}?",
        "Would you place the {e1} {options_of} the {e2}?",
        "With respect to the {e2}, is the {e1} {options}?",
        "Judging by the sounds, is the {e1} {options_of} the {e2}?",
    ),
    (qt.MIXUP_NONBINARY_DISTANCE, ""): (
        "Can you estimate the distance from the sound of the {e1} to the sound of the {e2}?",
        "How far away is the sound of the {e1} from the sound of the {e2}?",
        "What is the distance between the {e1} and the {e2}?",
        "How far apart are the {e1} and the {e2}?",
        "Estimate how many meters separate the {e1} from the {e2}.",
        "How much space lies between the source of {e1} and the source of {e2}?",
        "What is the straight-line distance between the {e1} and the {e2}?",
        "Roughly how far is the {e1} from the {e2}?",
        "Tell me the gap between the {e1} and the {e2}.",
        "How distant is the {e1}'s source from the {e2}'s source?",
        "Measure the separation between the {e1} and the {e2}.",
    ),
    (qt.MIXUP_NONBINARY_SOURCE, ""): (
        "What is the sound on the {d} side of the sound of the {e2}?",
        "Which sound is on the {d} side of the {e2}?",
        "What do you hear to the {d} of the {e2}?",
        "Identify the sound located {d} of the {e2}.",
        "Relative to the {e2}, what sound lies on the {d} side?",
        "Which sound event is placed on the {d} of the {e2}'s sound?",
        "Name the sound that comes from the {d} side of the {e2}.",
        "What is making the sound to the {d} of the {e2}?",
        "Compared with the {e2}, which sound is further {d}?",
        "Tell me which sound sits on the {d} side of the {e2}.",
        "What source can be heard on the {d} side of the {e2}'s sound?",
    ),
}

# How an axis is offered as a choice in MIXUP_NONBINARY_DIRECTION questions: stand-alone ({options}) and
# followed by the reference sound ({options_of}).
AXIS_OPTIONS: dict[str, str] = {
    "lateral": "to the left or to the right",
    "frontal": "in front or behind",
    "vertical": "above or below",
}
AXIS_OPTIONS_OF: dict[str, str] = {
    "lateral": "to the left or to the right of",
    "frontal": "in front of or behind",
    "vertical": "above or below",
}


def templates_for(question_type: str, form: str = "") -> tuple[str, ...]:
    """The paraphrases of one base question."""
    try:
        return TEMPLATES[(question_type, form)]
    except KeyError:
        raise KeyError(f"No question templates for question_type={question_type!r}, form={form!r}") from None


def spoken_distance(distance_m: float) -> str:
    """A distance as it appears inside a question: "0.5 meters", "1 meter", "2.5 meters"."""
    value = f"{float(distance_m):g}"
    return f"{value} meter" if value == "1" else f"{value} meters"
