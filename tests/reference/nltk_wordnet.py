"""NLTK's WordNet reader over Debian's wordnet-base (/usr/share/wordnet).

NLTK wants a `lexnames` file the Debian package does not ship (synsets name
their lexicographer file through it); this links the database into a
temporary directory and writes WordNet 3.0's standard list there."""
import os, tempfile
from nltk.corpus.reader.wordnet import WordNetCorpusReader

LEXNAMES = ("adj.all adj.pert adv.all noun.Tops noun.act noun.animal noun.artifact noun.attribute "
            "noun.body noun.cognition noun.communication noun.event noun.feeling noun.food noun.group "
            "noun.location noun.motive noun.object noun.person noun.phenomenon noun.plant "
            "noun.possession noun.process noun.quantity noun.relation noun.shape noun.state "
            "noun.substance noun.time verb.body verb.change verb.cognition verb.communication "
            "verb.competition verb.consumption verb.contact verb.creation verb.emotion verb.motion "
            "verb.perception verb.possession verb.social verb.stative verb.weather adj.ppl").split()
SYNTACTIC_CATEGORY = {"adj": 3, "adv": 4, "noun": 1, "verb": 2}


def open_wordnet(database="/usr/share/wordnet"):
    linked = tempfile.mkdtemp()
    for name in os.listdir(database):
        os.symlink(os.path.join(database, name), os.path.join(linked, name))
    with open(os.path.join(linked, "lexnames"), "w") as f:
        for i, name in enumerate(LEXNAMES):
            f.write("%02d\t%s\t%d\n" % (i, name, SYNTACTIC_CATEGORY[name.split(".")[0]]))
    return WordNetCorpusReader(linked, None)
