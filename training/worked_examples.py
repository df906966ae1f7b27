"""The project's own worked examples, per dataset (CQA, StrategyQA, e-SNLI), and the texts drawn into prompts.

Each worked example carries everything the three prompts show: the good explanation (few-shot explanation
prompt), a weaker draft with a critique of it (critique prompt), and a revision that answers the critique
(revision prompt). Answer keys are spread over A–E so that no letter dominates a prompt. All texts here were
written for this project.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class WorkedExample:
    id: str
    question: str
    choices: tuple[str, ...]  # in option order: A–E for CQA
    answer_key: str
    explanation: str  # two or three sentences on why the answer is right
    draft: str  # a weaker explanation, the one the critique is about
    critique: str  # a critique of the draft
    revision: str  # the draft rewritten after the critique (the prompt puts the answer line before it)


WORKED_EXAMPLES: tuple[WorkedExample, ...] = (
    WorkedExample(
        id="kettle",
        question="Where would you most likely find a kettle that is used every morning?",
        choices=("kitchen", "garage", "bathtub", "library", "forest"),
        answer_key="A",
        explanation=(
            "A kettle boils water for tea and coffee, which people usually make in the kitchen. "
            "A kettle used every morning is kept near the sink and the mugs, so it stays in the kitchen."
        ),
        draft="Kettles are found in many places in a house.",
        critique=(
            "The explanation does not say why the kitchen is the place, and it never connects the kettle "
            "to the morning routine in the question."
        ),
        revision=(
            "A kettle boils water for morning tea or coffee, and that is done where the water, mugs and "
            "stove are: the kitchen. A garage, bathtub, library or forest has no use for a kettle every morning."
        ),
    ),
    WorkedExample(
        id="umbrella",
        question="Why might someone carry an umbrella on a sunny morning?",
        choices=("to dig a hole", "the forecast said rain", "to sit on", "to cook dinner", "it is too heavy"),
        answer_key="B",
        explanation=(
            "People carry an umbrella when they expect rain later in the day. "
            "A forecast of rain is a good reason to bring one even when the morning is sunny."
        ),
        draft="Umbrellas are for rain.",
        critique=(
            "The explanation says what umbrellas are for but not why someone would carry one while it is "
            "still sunny."
        ),
        revision=(
            "Weather can change during the day, and a forecast warns people that rain is coming even when "
            "the morning is clear. Carrying an umbrella prepares for that rain, while digging, sitting, "
            "cooking and weight have nothing to do with why people take one along."
        ),
    ),
    WorkedExample(
        id="bread",
        question="What happens to bread that is left out uncovered for several days?",
        choices=(
            "it turns into flour",
            "it grows taller",
            "it becomes stale",
            "it melts",
            "it becomes wetter",
        ),
        answer_key="C",
        explanation=(
            "Bread left in the open air slowly loses its moisture. "
            "After a few days it is dry and hard, which is what people call stale."
        ),
        draft="Bread changes when you leave it out because things change over time.",
        critique=(
            "The explanation is vague: it says the bread changes but never says how, or why drying out makes "
            "it stale."
        ),
        revision=(
            "Air draws moisture out of bread that is not covered, so over several days it dries and hardens, "
            "which is what stale means. Bread does not turn back into flour, grow, melt, or get wetter in dry air."
        ),
    ),
    WorkedExample(
        id="library",
        question="Where can you borrow a book for free and return it a few weeks later?",
        choices=("bookstore", "printer", "school bus", "library", "newspaper stand"),
        answer_key="D",
        explanation=(
            "A library lends books to its members without charging for them. "
            "Borrowers keep a book for a set time, often a few weeks, and then bring it back."
        ),
        draft="A library has a lot of books on its shelves.",
        critique=(
            "Having many books is not the point of the question; the explanation should mention lending for "
            "free and bringing the book back."
        ),
        revision=(
            "Libraries lend books at no cost and ask for them back after a loan period of a few weeks. "
            "A bookstore sells books, and a printer, school bus or newspaper stand does not lend books at all."
        ),
    ),
    WorkedExample(
        id="sweater",
        question="If you feel cold while sitting at home, what would you most likely do?",
        choices=(
            "open the freezer",
            "eat ice cream",
            "take off your socks",
            "turn on a fan",
            "put on a sweater",
        ),
        answer_key="E",
        explanation=(
            "A sweater traps body heat and keeps a person warm. "
            "Putting one on is a quick and simple way to stop feeling cold at home."
        ),
        draft="A sweater is a piece of clothing that many people own.",
        critique=(
            "The explanation describes a sweater but does not link it to feeling cold, so it does not show why "
            "this choice answers the question."
        ),
        revision=(
            "Wearing a sweater keeps body heat in, so it is the natural thing to do when you feel cold. "
            "The freezer, ice cream, bare feet and a fan would all make you colder, not warmer."
        ),
    ),
    WorkedExample(
        id="windowsill",
        question="A plant on a windowsill is leaning toward the glass. What is it growing toward?",
        choices=("the sunlight", "the floor", "the wall", "the ceiling fan", "the radio"),
        answer_key="A",
        explanation=(
            "Plants grow toward light because they use it to make their food. "
            "Light comes in through the window, so the plant bends toward the glass to reach the sunlight."
        ),
        draft="Plants like windows.",
        critique=(
            "Saying that plants like windows gives no reason; the explanation should say that plants need light "
            "and that the light comes through the window."
        ),
        revision=(
            "Plants need sunlight to make food, and they bend their stems toward where the light is strongest. "
            "On a windowsill that light comes through the glass, while the floor, wall, ceiling fan and radio "
            "give the plant nothing to grow toward."
        ),
    ),
    WorkedExample(
        id="alarm",
        question="Why would someone set an alarm clock before going to bed?",
        choices=(
            "to cook breakfast",
            "to wake up on time",
            "to read a story",
            "to clean the room",
            "to water plants",
        ),
        answer_key="B",
        explanation=(
            "An alarm clock makes a loud sound at a chosen time. "
            "Setting it at night makes sure the person wakes up on time the next morning."
        ),
        draft="An alarm clock is loud.",
        critique=(
            "The explanation mentions the sound but not what it is for; it should say that the sound wakes the "
            "sleeper at a chosen time."
        ),
        revision=(
            "An alarm clock rings at the time it was set for, so setting it before bed is how people make sure "
            "they wake up on time. The clock cannot cook, read, clean or water anything by itself."
        ),
    ),
    WorkedExample(
        id="ice",
        question="What will happen to an ice cube placed on a warm stove?",
        choices=(
            "it will freeze harder",
            "it will turn into wood",
            "it will melt",
            "it will grow",
            "it will become a rock",
        ),
        answer_key="C",
        explanation=(
            "Heat from the stove raises the temperature of the ice above its melting point. "
            "The ice cube then turns into liquid water, which means it melts."
        ),
        draft="Stoves are hot and ice is cold.",
        critique=(
            "The explanation lists two facts but does not say what happens when they meet, which is what the "
            "question asks."
        ),
        revision=(
            "A warm stove passes heat to the ice cube, and ice that warms above freezing turns into water. "
            "Heat cannot make ice freeze harder, and ice does not turn into wood, grow, or become a rock."
        ),
    ),
    WorkedExample(
        id="restaurant",
        question="After eating a meal at a restaurant, what do customers usually do before leaving?",
        choices=(
            "wash the dishes",
            "cook for the staff",
            "paint the walls",
            "pay the bill",
            "sleep at the table",
        ),
        answer_key="D",
        explanation=(
            "A restaurant serves food in exchange for money. "
            "Customers pay the bill for what they ordered before they leave."
        ),
        draft="Restaurants have food and customers.",
        critique=(
            "This only restates what a restaurant is; it should explain that the meal has to be paid for before "
            "the customer leaves."
        ),
        revision=(
            "Restaurants sell meals, so a customer owes money for the food and settles it by paying the bill "
            "before leaving. Washing dishes and cooking are the staff's work, and painting walls or sleeping at "
            "the table are not part of eating out."
        ),
    ),
    WorkedExample(
        id="leash",
        question=(
            "A dog is standing by the front door and wagging its tail at the leash. "
            "What does the dog most likely want?"
        ),
        choices=("a bath", "to sleep", "to be left alone", "a haircut", "to go for a walk"),
        answer_key="E",
        explanation=(
            "Dogs learn that the leash and the front door mean going outside. "
            "A dog that waits there and wags its tail is showing that it wants a walk."
        ),
        draft="Dogs wag their tails when they are happy.",
        critique=(
            "The explanation covers the tail but ignores the leash and the door, which are the clues that point "
            "to a walk."
        ),
        revision=(
            "A leash is what a dog wears on a walk, and the front door is the way out, so a dog waiting there "
            "with a wagging tail wants to go for a walk. Baths, sleep, being alone and haircuts do not involve "
            "the leash or the door."
        ),
    ),
)

_YES_NO = ("yes", "no")

STRATEGYQA_EXAMPLES: tuple[WorkedExample, ...] = (
    WorkedExample(
        id="sq-penguin-desert",
        question="Would a penguin feel at home in the Sahara?",
        choices=_YES_NO,
        answer_key="B",
        explanation=(
            "Penguins live in cold southern waters and hunt fish in the sea. "
            "The Sahara is a hot, dry desert with no sea to swim in, so a penguin would not feel at home there."
        ),
        draft="Penguins are birds and the Sahara is big.",
        critique=(
            "The explanation names two facts that do not bear on the question; it should compare what a penguin "
            "needs with what the desert offers."
        ),
        revision=(
            "A penguin needs cold weather and open sea for fishing, and the Sahara is one of the hottest and driest "
            "places on Earth with no sea at all, so a penguin could not live there."
        ),
    ),
    WorkedExample(
        id="sq-cake-oven",
        question="Is an oven useful for making a birthday cake?",
        choices=_YES_NO,
        answer_key="A",
        explanation=(
            "Most cakes are made from a batter that has to be baked. "
            "An oven gives the steady heat that turns the batter into a cake, so it is useful for a birthday cake."
        ),
        draft="Ovens are in kitchens.",
        critique="Where ovens stand does not answer the question; the explanation should say what the oven does.",
        revision=(
            "A birthday cake usually starts as a batter that must be baked, and an oven is what bakes it with even "
            "heat, so an oven is useful for making one."
        ),
    ),
    WorkedExample(
        id="sq-moon-walk",
        question="Could a person walk from London to New York?",
        choices=_YES_NO,
        answer_key="B",
        explanation=(
            "London and New York are separated by the Atlantic Ocean. "
            "There is no land route between them, so nobody could walk the whole way."
        ),
        draft="It is very far, so it would take a long time.",
        critique=(
            "A long distance alone does not make a walk impossible; the explanation misses the ocean in between."
        ),
        revision=(
            "The Atlantic Ocean lies between London and New York and there is no bridge or land across it, so the "
            "trip cannot be made on foot however long one walks."
        ),
    ),
    WorkedExample(
        id="sq-violin-strings",
        question="Does a violin player need to replace strings now and then?",
        choices=_YES_NO,
        answer_key="A",
        explanation=(
            "Violin strings stretch, wear and sometimes snap as they are played. "
            "Players therefore put on new strings from time to time to keep the sound good."
        ),
        draft="Violins have four strings.",
        critique="The number of strings is beside the point; the explanation should say why strings need replacing.",
        revision=(
            "Playing wears violin strings out: they lose their tone, stretch and can break, so a violinist has to "
            "replace them now and then."
        ),
    ),
    WorkedExample(
        id="sq-ice-cream-winter",
        question="Would ice cream left outside in an Arctic winter melt?",
        choices=_YES_NO,
        answer_key="B",
        explanation=(
            "Ice cream melts only above about zero degrees Celsius. "
            "An Arctic winter stays far below freezing, so the ice cream would stay frozen."
        ),
        draft="Ice cream melts when it is warm.",
        critique=(
            "The explanation states a general rule but never applies it to the Arctic winter in the question."
        ),
        revision=(
            "Ice cream needs temperatures above freezing to melt, and Arctic winters are far colder than that, so "
            "ice cream left outside would stay frozen."
        ),
    ),
    WorkedExample(
        id="sq-bicycle-helmet",
        question="Can a helmet help protect a cyclist in a fall?",
        choices=_YES_NO,
        answer_key="A",
        explanation=(
            "A helmet has a hard shell and padding that absorb the force of a blow to the head. "
            "When a cyclist falls and hits the ground, the helmet takes much of that force."
        ),
        draft="Many cyclists wear helmets.",
        critique="That many people wear helmets does not show that they protect; the explanation should say how.",
        revision=(
            "A helmet's shell and padding spread and absorb the force of an impact, so when a cyclist falls and "
            "strikes their head, the helmet reduces the injury."
        ),
    ),
)

ESNLI_LABELS = ("entailment", "neutral", "contradiction")


def _pair(premise: str, hypothesis: str) -> str:
    return f"Premise: {premise} Hypothesis: {hypothesis} What is the relationship?"


ESNLI_EXAMPLES: tuple[WorkedExample, ...] = (
    WorkedExample(
        id="nli-guitar",
        question=_pair("A woman is playing a guitar on a stage.", "A woman is playing an instrument."),
        choices=ESNLI_LABELS,
        answer_key="A",
        explanation="A guitar is an instrument, so a woman playing a guitar is playing an instrument.",
        draft="Both sentences are about a woman.",
        critique="Sharing a subject does not make one sentence follow from the other; it should link guitar and instrument.",
        revision=(
            "The premise says she plays a guitar, and a guitar is a musical instrument, so the hypothesis must be "
            "true whenever the premise is."
        ),
    ),
    WorkedExample(
        id="nli-dog-park",
        question=_pair("A dog runs across a park with a ball in its mouth.", "The dog is asleep on a sofa."),
        choices=ESNLI_LABELS,
        answer_key="C",
        explanation="A dog running across a park cannot at the same time be asleep on a sofa.",
        draft="The hypothesis is different from the premise.",
        critique=(
            "Being different is not enough for a contradiction; the explanation should say why both cannot be true."
        ),
        revision=(
            "The premise has the dog awake and running outside in a park, while the hypothesis has it asleep "
            "indoors on a sofa; both cannot hold at once."
        ),
    ),
    WorkedExample(
        id="nli-chef",
        question=_pair(
            "A man in a white apron is cutting vegetables.", "The man is cooking dinner for his family."
        ),
        choices=ESNLI_LABELS,
        answer_key="B",
        explanation=(
            "Cutting vegetables may be part of cooking, but the premise does not say who the food is for or "
            "that it is dinner."
        ),
        draft="The man could be cooking.",
        critique="The explanation does not say what the premise leaves open, which is why the answer is neutral.",
        revision=(
            "The premise shows a man cutting vegetables but says nothing about the meal or his family, so the "
            "hypothesis may be true or false."
        ),
    ),
    WorkedExample(
        id="nli-children-snow",
        question=_pair(
            "Two children are building a snowman in a yard.", "Children are playing outside in the snow."
        ),
        choices=ESNLI_LABELS,
        answer_key="A",
        explanation=(
            "Building a snowman in a yard is playing outside in the snow, so the hypothesis follows from the premise."
        ),
        draft="Snowmen are made of snow.",
        critique="The explanation mentions snow but not that the children are outside and playing.",
        revision=(
            "Two children building a snowman in a yard are outdoors, in snow, and playing, which is everything "
            "the hypothesis says."
        ),
    ),
    WorkedExample(
        id="nli-bus",
        question=_pair(
            "An empty bus is parked at the station.", "A bus full of passengers waits at the station."
        ),
        choices=ESNLI_LABELS,
        answer_key="C",
        explanation="An empty bus has no passengers, so it cannot be full of passengers.",
        draft="The bus is at the station in both.",
        critique="The explanation points to what the sentences share rather than to where they conflict.",
        revision=(
            "The premise says the bus is empty and the hypothesis says it is full of passengers; a bus cannot be "
            "both, so the hypothesis contradicts the premise."
        ),
    ),
    WorkedExample(
        id="nli-runner",
        question=_pair("A runner crosses the finish line with her arms raised.", "The runner won the race."),
        choices=ESNLI_LABELS,
        answer_key="B",
        explanation=(
            "Runners raise their arms at the finish for many reasons, and the premise does not say she finished first."
        ),
        draft="She raised her arms, so she is happy.",
        critique="Being happy is not the hypothesis; the explanation should say whether winning is settled.",
        revision=(
            "Crossing the line with raised arms fits a win but also a personal best or relief at finishing; the "
            "premise does not settle whether she won, so the relationship is neutral."
        ),
    ),
)

# Two are drawn per explanation prompt to vary the teacher's wording.
STYLE_ADJECTIVES: tuple[str, ...] = (
    "clear",
    "concise",
    "informative",
    "precise",
    "plain",
    "specific",
    "helpful",
    "factual",
    "simple",
    "careful",
    "direct",
    "logical",
)


@dataclass(frozen=True)
class RequestPair:
    critique: str  # asks for a critique of an explanation
    revision: str  # asks for the explanation rewritten in the light of that critique


# One pair is drawn per question; the worked critiques and revisions are written to fit any of them.
REQUEST_PAIRS: tuple[RequestPair, ...] = (
    RequestPair(
        "Point out anything in the explanation that does not help a reader see why the answer is right.",
        "Rewrite the explanation so that every sentence helps show why the answer is right.",
    ),
    RequestPair(
        "Say whether the explanation gives a clear reason for the answer, and what is missing if it does not.",
        "Rewrite the explanation so that it gives a clear reason for the answer, adding what was missing.",
    ),
    RequestPair(
        "Identify where the explanation is vague or too general.",
        "Rewrite the explanation to be specific about this question and its answer.",
    ),
    RequestPair(
        "Does the explanation connect the answer to the details of the question? Describe any gap.",
        "Rewrite the explanation so that it ties the answer to the details of the question.",
    ),
    RequestPair(
        "Explain what the explanation fails to say about why the other choices are worse.",
        "Rewrite the explanation so that it also says why the other choices are worse.",
    ),
    RequestPair(
        "Point out any claim in the explanation that is wrong, unsupported or beside the point.",
        "Rewrite the explanation without the wrong, unsupported or off-topic claims, keeping what is right.",
    ),
    RequestPair(
        "Describe how the explanation could be more convincing to someone who doubts the answer.",
        "Rewrite the explanation so that it would convince someone who doubts the answer.",
    ),
    RequestPair(
        "Say what common knowledge the explanation relies on without stating it.",
        "Rewrite the explanation so that it states the common knowledge the answer relies on.",
    ),
    RequestPair(
        "Assess whether the explanation is complete enough for a student to learn from, and what it lacks.",
        "Rewrite the explanation so that a student could learn from it, filling in what it lacked.",
    ),
    RequestPair(
        "Point out anything in the explanation that is confusing or hard to follow.",
        "Rewrite the explanation so that it is easy to follow.",
    ),
)
