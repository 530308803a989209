"""The words the seeded world is made of: accounts, labs, names, species, regions, vocabularies.

Plain data and one text helper, no Django: the generators in this package draw
from these lists with the world's seeded generator, so changing a list changes
the seeded data (and, through the source digest, every cached database).

Examples
--------
>>> import random
>>> text(random.Random(0), "session")
'<p>Session: recordings of ... in ...</p>'
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone

DEMO_EMAIL = "demo@brainstem.sandbox"
DEMO_PASSWORD = "sandbox-demo-password"
OTHER_PASSWORD = "sandbox-user-password"
REVIEWER_EMAIL = "reviewer@brainstem.sandbox"

LABS = [
    ("Hippocampal Circuits Lab", "Aarhus University", "Aarhus", "Denmark", "Department of Biomedicine"),
    ("Visual Cortex Lab", "University College London", "London", "United Kingdom", "Institute of Ophthalmology"),
    ("Motor Systems Lab", "New York University", "New York", "United States", "Neuroscience Institute"),
    ("Sleep and Memory Lab", "University of Tokyo", "Tokyo", "Japan", "Graduate School of Medicine"),
    ("Sensory Coding Lab", "Champalimaud Foundation", "Lisbon", "Portugal", "Neuroscience Programme"),
]
FIRST = [
    "Anna",
    "Bo",
    "Carla",
    "David",
    "Elif",
    "Femi",
    "Greta",
    "Hiro",
    "Ines",
    "Jonas",
    "Kira",
    "Lars",
    "Maya",
    "Nils",
    "Olga",
    "Priya",
    "Quentin",
    "Rosa",
    "Sami",
    "Tove",
]
LAST = [
    "Andersen",
    "Berg",
    "Costa",
    "Dubois",
    "Eriksen",
    "Fischer",
    "Garcia",
    "Hansen",
    "Ito",
    "Jensen",
    "Kowalski",
    "Larsen",
    "Moreau",
    "Nielsen",
    "Okafor",
    "Petersen",
]
SPECIES = [
    ("Mus musculus", "RRID:NCBITaxon_10090", ["C57BL/6J", "PV-Cre", "SST-Cre", "Thy1-GCaMP6s", "VGAT-ChR2"]),
    ("Rattus norvegicus", "RRID:NCBITaxon_10116", ["Long-Evans", "Sprague Dawley", "Wistar"]),
    ("Macaca mulatta", "RRID:NCBITaxon_9544", ["Rhesus (Indian origin)"]),
    ("Danio rerio", "RRID:NCBITaxon_7955", ["AB", "nacre"]),
    ("Callithrix jacchus", "RRID:NCBITaxon_9483", ["Common marmoset"]),
]
REGIONS = [
    ("Field CA1", "CA1"),
    ("Field CA3", "CA3"),
    ("Dentate gyrus", "DG"),
    ("Medial entorhinal cortex", "MEC"),
    ("Prelimbic area", "PL"),
    ("Primary visual area", "VISp"),
    ("Primary motor area", "MOp"),
    ("Primary somatosensory area, barrel field", "SSp-bfd"),
    ("Anterior cingulate area", "ACA"),
    ("Retrosplenial area", "RSP"),
    ("Thalamus", "TH"),
    ("Striatum", "STR"),
    ("Basolateral amygdalar nucleus", "BLA"),
    ("Superior colliculus", "SC"),
    ("Ventral tegmental area", "VTA"),
    ("Lateral hypothalamic area", "LHA"),
]
PARADIGMS = [
    ("Linear track", "Spatial navigation"),
    ("Open field", "Exploration"),
    ("T-maze alternation", "Spatial navigation"),
    ("Morris water maze", "Spatial navigation"),
    ("Head-fixed visual discrimination", "Sensory discrimination"),
    ("Go/No-go licking", "Sensory discrimination"),
    ("Sleep recording", "Sleep"),
    ("Fear conditioning", "Learning and memory"),
    ("Reaching task", "Motor control"),
]
SUPPLIERS = [
    ("Charles River Laboratories", "https://www.criver.com"),
    ("The Jackson Laboratory", "https://www.jax.org"),
    ("Envigo", "https://www.envigo.com"),
    ("NeuroNexus", "https://www.neuronexus.com"),
    ("Cambridge NeuroTech", "https://www.cambridgeneurotech.com"),
    ("Plexon", "https://plexon.com"),
    ("Thorlabs", "https://www.thorlabs.com"),
    ("Addgene", "https://www.addgene.org"),
]
JOURNALS = [
    ("Neuron", "https://www.cell.com/neuron"),
    ("Nature Neuroscience", "https://www.nature.com/neuro"),
    ("eLife", "https://elifesciences.org"),
    ("Journal of Neuroscience", "https://www.jneurosci.org"),
    ("Cell Reports", "https://www.cell.com/cell-reports"),
]
TOPICS = [
    "place cells",
    "theta sequences",
    "sharp-wave ripples",
    "orientation tuning",
    "motor cortex dynamics",
    "sleep spindles",
    "grid cells",
    "reward prediction",
    "whisker touch",
    "working memory",
]
TAGS = ["pilot", "baseline", "drug", "control", "training", "probe-test", "sleep", "habituation", "excluded"]
REPOS = [
    ("DANDI", "https://dandiarchive.org/dandiset/{n:06d}"),
    ("Zenodo", "https://zenodo.org/records/{n}"),
    ("Figshare", "https://figshare.com/articles/dataset/{n}"),
    ("GitHub", "https://github.com/lab/{n}"),
    ("CRCNS", "https://crcns.org/data-sets/hc/hc-{n}"),
]
ACQ_TYPES = [
    "ExtracellularEphys",
    "BehavioralTracking",
    "TwoPhotonMicroscopy",
    "FiberPhotometry",
    "VideoTracking",
    "Electroencephalography",
    "Miniscope",
]
MANIP_TYPES = [
    "OptogeneticStimulation",
    "PharmacologicalInjection",
    "ElectricalStimulation",
    "VisualStimulation",
    "AuditoryStimulation",
]
PROC_TYPES = [
    "SiliconProbeImplant",
    "Craniotomy",
    "Injection",
    "Headpost",
    "OpticFiberImplant",
    "TetrodeWireElectrodeImplant",
    "CranialWindow",
    "Anesthesia",
]
SETUP_TYPES = [
    ("Freely moving arena", "A", "Open arena for freely moving animals"),
    ("Head-fixed rig", "H", "Head-fixed setup with running wheel"),
    ("Virtual reality rig", "V", "Head-fixed with virtual reality display"),
    ("Home cage", "I", "Home cage recording"),
]
AUTHORITIES = [
    (
        "Danish Animal Experiments Inspectorate",
        "DAEI",
        "Denmark",
        "national",
        "https://dyreforsoegstilsynet.dk",
    ),
    ("Home Office", "HO", "United Kingdom", "national", "https://www.gov.uk/home-office"),
    ("Institutional Animal Care and Use Committee", "IACUC", "United States", "institutional", ""),
]
CONSUMABLES = [
    ("H64 silicon probe", "SiliconProbe"),
    ("Optic fiber 200 um", "OpticFiber"),
    ("AAV5-CaMKII-ChR2", "VirusSolution"),
    ("Saline 0.9%", "PhysiologicalSolution"),
    ("Ketamine", "PharmacologicalAgent"),
    ("DiI", "TracerDye"),
]
# Hardware devices: (name, description, maker among SUPPLIERS, the equipment type it serves); NWB files name
# their makers (Device.manufacturer), so each device is supplied by the company that makes it.
DEVICES = [
    ("Plexon OmniPlex", "Neural data acquisition system, 64 channels", "Plexon", "DataAcquisitionSystem"),
    ("NeuroNexus SmartBox Pro", "Electrophysiology recorder, 256 channels", "NeuroNexus", "DataAcquisitionSystem"),
    ("Thorlabs Kiralux CS165MU", "1.6 MP monochrome CMOS camera", "Thorlabs", "Camera"),
    ("Mini-Amp-64", "Head-stage amplifier for 64-channel probes", "Cambridge NeuroTech", "DataAcquisitionSystem"),
    ("Plexon CinePlex", "Video tracking camera system", "Plexon", "Camera"),
]
EQUIPMENT_TYPES = ("Camera", "DataAcquisitionSystem")
# Stock kept in every inventory: (type, index into CONSUMABLES)
STOCKS = (("SiliconProbe", 0), ("VirusSolution", 2))
COORDS = ["Stereotaxic_BregmaBrainSurface", "Stereotaxic_BregmaAbsolute", "CCF_XYZ_Absolute"]
EPOCH_NAMES = ["baseline", "task", "post-task sleep", "stimulation", "recovery"]
START = datetime(2019, 1, 1, tzinfo=timezone.utc)
#: Sessions happen before END, at least ADULT after their subject's birth and within RECORDING of it.
END = START + timedelta(days=7 * 365)
ADULT = timedelta(weeks=8)
RECORDING = timedelta(days=540)


def text(rng: random.Random, subject: str) -> str:
    """A one-sentence HTML description of ``subject`` (draws a topic, then a region).

    Examples
    --------
    >>> text(random.Random(1), "project").startswith("<p>Project: recordings of ")
    True
    """
    return f"<p>{subject.capitalize()}: recordings of {rng.choice(TOPICS)} in {rng.choice(REGIONS)[0]}.</p>"
