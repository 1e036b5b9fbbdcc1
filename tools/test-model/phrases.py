"""The test model's whole language: a few dozen phrases in English, German, French and Spanish, each with its
English translation, split into TRAINING phrases and HELD-OUT sentences.

The held-out sentences are never synthesised for training. They recombine word forms that the training
phrases contain (checked by `check_vocabulary`), so a model that learned the words, rather than memorised the
phrases, can transcribe and translate them. Keep that property when editing: run `python3 phrases.py`.
"""

import re

LANGUAGES = ("en", "de", "fr", "es")

# One row per meaning: the English sentence, then its German, French and Spanish versions. Row i of every
# language means the same, so the English column is also every row's translation target.
TRAINING_ROWS = [
    ("The cat is sleeping on the red chair.", "Die Katze schläft auf dem roten Stuhl.",
     "Le chat dort sur la chaise rouge.", "El gato duerme en la silla roja."),
    ("I see a small dog in the garden.", "Ich sehe einen kleinen Hund im Garten.",
     "Je vois un petit chien dans le jardin.", "Veo un perro pequeño en el jardín."),
    ("We buy fresh bread every morning.", "Wir kaufen jeden Morgen frisches Brot.",
     "Nous achetons du pain frais chaque matin.", "Compramos pan fresco cada mañana."),
    ("The weather is cold today.", "Das Wetter ist heute kalt.",
     "Il fait froid aujourd'hui.", "Hoy hace frío."),
    ("My brother drinks coffee at night.", "Mein Bruder trinkt Kaffee in der Nacht.",
     "Mon frère boit du café la nuit.", "Mi hermano bebe café por la noche."),
    ("The blue car is very fast.", "Das blaue Auto ist sehr schnell.",
     "La voiture bleue est très rapide.", "El coche azul es muy rápido."),
    ("Open the window, please.", "Öffne bitte das Fenster.",
     "Ouvre la fenêtre, s'il te plaît.", "Abre la ventana, por favor."),
    ("The children play in the park.", "Die Kinder spielen im Park.",
     "Les enfants jouent dans le parc.", "Los niños juegan en el parque."),
    ("She reads a long book.", "Sie liest ein langes Buch.",
     "Elle lit un long livre.", "Ella lee un libro largo."),
    ("Tomorrow we go to the city.", "Morgen fahren wir in die Stadt.",
     "Demain nous allons en ville.", "Mañana vamos a la ciudad."),
    ("The train arrives at seven.", "Der Zug kommt um sieben an.",
     "Le train arrive à sept heures.", "El tren llega a las siete."),
    ("I have three green apples.", "Ich habe drei grüne Äpfel.",
     "J'ai trois pommes vertes.", "Tengo tres manzanas verdes."),
    ("The house is big and white.", "Das Haus ist groß und weiß.",
     "La maison est grande et blanche.", "La casa es grande y blanca."),
    ("Where is the station?", "Wo ist der Bahnhof?",
     "Où est la gare?", "¿Dónde está la estación?"),
    ("Thank you very much.", "Vielen Dank.",
     "Merci beaucoup.", "Muchas gracias."),
    ("Good morning, how are you?", "Guten Morgen, wie geht es dir?",
     "Bonjour, comment allez-vous?", "Buenos días, ¿cómo estás?"),
    ("The water is hot.", "Das Wasser ist heiß.",
     "L'eau est chaude.", "El agua está caliente."),
    ("My sister works in the city.", "Meine Schwester arbeitet in der Stadt.",
     "Ma sœur travaille en ville.", "Mi hermana trabaja en la ciudad."),
    ("The bird sings in the tree.", "Der Vogel singt im Baum.",
     "L'oiseau chante dans l'arbre.", "El pájaro canta en el árbol."),
    ("We eat soup in the evening.", "Wir essen am Abend Suppe.",
     "Nous mangeons de la soupe le soir.", "Comemos sopa por la tarde."),
    ("The door is closed.", "Die Tür ist geschlossen.",
     "La porte est fermée.", "La puerta está cerrada."),
    ("I like the black cat.", "Ich mag die schwarze Katze.",
     "J'aime le chat noir.", "Me gusta el gato negro."),
    ("The old man walks slowly.", "Der alte Mann geht langsam.",
     "Le vieil homme marche lentement.", "El hombre viejo camina despacio."),
    ("It is raining in the garden.", "Es regnet im Garten.",
     "Il pleut dans le jardin.", "Llueve en el jardín."),
]

# Held-out sentences: (language, text, English translation). Never used in training.
HELD_OUT = [
    ("en", "The small dog is sleeping in the park.", "The small dog is sleeping in the park."),
    ("en", "My sister reads a book in the garden.", "My sister reads a book in the garden."),
    ("en", "The black car is very old.", "The black car is very old."),
    ("en", "My brother drinks water.", "My brother drinks water."),
    ("en", "Tomorrow the weather is hot.", "Tomorrow the weather is hot."),
    ("en", "The bird is sleeping on the white chair.", "The bird is sleeping on the white chair."),
    ("en", "We eat fresh bread at night.", "We eat fresh bread at night."),
    ("en", "Where is the blue house?", "Where is the blue house?"),
    ("de", "Der Hund schläft im Park.", "The dog is sleeping in the park."),
    ("de", "Meine Schwester liest ein langes Buch im Garten.", "My sister reads a long book in the garden."),
    ("de", "Das blaue Haus ist sehr groß.", "The blue house is very big."),
    ("de", "Mein Bruder trinkt Wasser.", "My brother drinks water."),
    ("de", "Morgen ist das Wetter heiß.", "Tomorrow the weather is hot."),
    ("de", "Der Vogel schläft auf dem roten Stuhl.", "The bird is sleeping on the red chair."),
    ("de", "Wir essen am Abend frisches Brot.", "We eat fresh bread in the evening."),
    ("de", "Wo ist das blaue Auto?", "Where is the blue car?"),
    ("fr", "Le chien dort dans le parc.", "The dog is sleeping in the park."),
    ("fr", "Ma sœur lit un long livre dans le jardin.", "My sister reads a long book in the garden."),
    ("fr", "La maison bleue est très grande.", "The blue house is very big."),
    ("fr", "Mon frère boit de l'eau.", "My brother drinks water."),
    ("fr", "Demain il fait froid.", "Tomorrow the weather is cold."),
    ("fr", "L'oiseau dort sur la chaise rouge.", "The bird is sleeping on the red chair."),
    ("fr", "Nous mangeons du pain frais le soir.", "We eat fresh bread in the evening."),
    ("fr", "Où est la voiture bleue?", "Where is the blue car?"),
    ("es", "El perro duerme en el parque.", "The dog is sleeping in the park."),
    ("es", "Mi hermana lee un libro largo en el jardín.", "My sister reads a long book in the garden."),
    ("es", "La casa azul es muy grande.", "The blue house is very big."),
    ("es", "Mi hermano bebe agua.", "My brother drinks water."),
    ("es", "Mañana hace frío.", "Tomorrow the weather is cold."),
    ("es", "El pájaro duerme en la silla roja.", "The bird is sleeping on the red chair."),
    ("es", "Comemos pan fresco por la noche.", "We eat fresh bread at night."),
    ("es", "¿Dónde está el coche azul?", "Where is the blue car?"),
]


def training_phrases():
    """Every training phrase as a dict: id, lang, text, en (its English translation)."""
    phrases = []
    for row, texts in enumerate(TRAINING_ROWS):
        for lang, text in zip(LANGUAGES, texts):
            phrases.append({"id": f"train-{lang}-{row:02d}", "lang": lang, "text": text, "en": texts[0]})
    return phrases


def held_out_sentences():
    """Every held-out sentence as a dict with the same keys as `training_phrases`."""
    counters = {lang: 0 for lang in LANGUAGES}
    sentences = []
    for lang, text, english in HELD_OUT:
        sentences.append({"id": f"heldout-{lang}-{counters[lang]:02d}", "lang": lang, "text": text, "en": english})
        counters[lang] += 1
    return sentences


def words(text):
    """Lower-cased word forms, punctuation stripped; apostrophes stay inside words (l'eau, aujourd'hui)."""
    return re.findall(r"[\w']+", text.lower())


def check_vocabulary():
    """Lists held-out word forms the training phrases never contain (per language, and for the English
    translations); an empty list means the held-out set is a pure recombination."""
    seen = {lang: set() for lang in LANGUAGES}
    for phrase in training_phrases():
        seen[phrase["lang"]].update(words(phrase["text"]))
    unseen = []
    for sentence in held_out_sentences():
        for word in words(sentence["text"]):
            if word not in seen[sentence["lang"]]:
                unseen.append((sentence["id"], word))
        for word in words(sentence["en"]):
            if word not in seen["en"]:
                unseen.append((sentence["id"] + " (en)", word))
    training_texts = {(p["lang"], p["text"]) for p in training_phrases()}
    for sentence in held_out_sentences():
        if (sentence["lang"], sentence["text"]) in training_texts:
            unseen.append((sentence["id"], "is a training phrase"))
    return unseen


if __name__ == "__main__":
    problems = check_vocabulary()
    print(f"{len(training_phrases())} training phrases, {len(held_out_sentences())} held-out sentences")
    for where, word in problems:
        print(f"  {where}: {word!r} not in the training vocabulary")
    raise SystemExit(1 if problems else 0)
