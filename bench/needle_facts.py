"""The needles of ``bench/needles.py``: invented facts, paraphrased questions, agent queries.

Every fact is made up (names, places, objects), so nothing in the NPL
haystack answers it and no model knows it. Each question paraphrases its fact
with as few shared words as possible. The ``lex``/``vec``/``hyde`` entries are
what an agent would write from the question alone: keywords, a rephrasing and
a guessed answer sentence. They were written from the question text, without
copying the fact's wording (same author, so an honest but imperfect blind).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Needle:
    fact: str
    question: str
    lex: str
    vec: str
    hyde: str

    def typed_queries(self) -> list[str]:
        """The question plus the agent's typed queries, as passed to one search."""
        return [self.question, f"lex: {self.lex}", f"vec: {self.vec}", f"hyde: {self.hyde}"]


NEEDLES: tuple[Needle, ...] = (
    Needle(
        fact="During the 1958 trials the cooling pumps of the Harwell annex stopped every "
        "time the canteen kettles were switched on.",
        question="Which kitchen appliance made the refrigeration machinery break down?",
        lex="kitchen appliance refrigeration machinery breakdown",
        vec="what household cooking device caused the chiller equipment to fail",
        hyde="The refrigeration plant failed whenever the electric cooker in the staff "
        "kitchen was in use.",
    ),
    Needle(
        fact="Margit Olander kept her notebooks in a biscuit tin buried beneath the "
        "greenhouse so that rival teams could not copy them.",
        question="Where did the researcher hide her laboratory records from competitors?",
        lex="researcher hid laboratory records competitors secret",
        vec="the place a scientist concealed her lab notes so other groups could not see them",
        hyde="She hid her lab books under the floorboards so that competing groups could not "
        "read her results.",
    ),
    Needle(
        fact="The ferrite memory plane built at Ostrava weighed eleven kilograms and had to "
        "be carried up the stairs by four students.",
        question="How heavy was the magnetic core storage board, and how was it moved into "
        "the building?",
        lex="magnetic core storage weight moved building",
        vec="the mass of the core memory unit and how it was transported inside",
        hyde="The core memory array weighed about twenty kilograms and was lifted in by a crane.",
    ),
    Needle(
        fact="A pigeon nesting inside the waveguide horn was the source of the unexplained "
        "noise that spoiled three months of radio measurements.",
        question="What bird caused the mysterious interference in the antenna recordings?",
        lex="bird interference antenna recordings",
        vec="an animal living in the aerial produced unexplained disturbances in the signal",
        hyde="The spurious interference in the antenna data was traced to a bird that had "
        "built a nest in the dish.",
    ),
    Needle(
        fact="The tidal gauge at Kerrow Point was read by the lighthouse keeper's daughter, "
        "who was paid two shillings a week for the task.",
        question="Who took the sea-level readings at the coastal station and what was she paid?",
        lex="sea level readings coastal station paid wage",
        vec="the woman who recorded the ocean height measurements on the shore and her salary",
        hyde="The sea level was recorded each day by a local girl who received a small weekly "
        "wage for the work.",
    ),
    Needle(
        fact="Our vacuum chamber only reached its design pressure after the rubber gaskets "
        "were soaked overnight in castor oil.",
        question="What treatment of the seals finally let the evacuated vessel reach its target?",
        lex="seals treatment evacuated vessel target low pressure",
        vec="how the sealing rings were prepared so the vacuum tank reached its goal",
        hyde="The vacuum vessel reached its specified pressure once the seals were greased "
        "and baked.",
    ),
    Needle(
        fact="The magnetometer drifted by several nanotesla whenever the tram on Ferris "
        "Street passed the laboratory.",
        question="What passing vehicle disturbed the field-strength sensor readings?",
        lex="passing vehicle disturbed field sensor readings",
        vec="traffic going past the building upset the magnetic field measurements",
        hyde="The magnetic sensor readings jumped every time a lorry drove past the laboratory.",
    ),
    Needle(
        fact="The crystal growth furnace was accidentally left running through the Easter "
        "holiday, producing the largest germanium boule the group ever made.",
        question="How did the team end up with its biggest semiconductor ingot by mistake?",
        lex="biggest semiconductor ingot mistake accident",
        vec="an accident that gave the group its largest semiconductor crystal",
        hyde="The largest silicon crystal was grown by accident when the puller was left on "
        "over a weekend.",
    ),
    Needle(
        fact="To stop condensation on the lenses, the observers hung woollen socks filled "
        "with warm rice over the eyepieces.",
        question="What homemade trick kept moisture from fogging the telescope optics?",
        lex="homemade trick moisture fogging telescope optics",
        vec="an improvised way to keep dew off the telescope glass",
        hyde="The observers kept dew off the telescope optics by wrapping them in heated cloth.",
    ),
    Needle(
        fact="The punched tape of the flight simulation program was eaten by a goat when the "
        "lorry carrying it broke down near Aberfeldy.",
        question="What animal destroyed the paper input for the aircraft computer model?",
        lex="animal destroyed paper input aircraft computer model",
        vec="a creature ruined the punched cards for the airplane simulation",
        hyde="The punched cards for the aircraft simulation were chewed up by a dog.",
    ),
    Needle(
        fact="The cyclotron's dees were silver-plated with cutlery donated by the staff after "
        "the copper supply ran out.",
        question="Where did the accelerator group get the metal to coat its electrodes?",
        lex="accelerator metal coat electrodes source",
        vec="the origin of the metal used for plating the particle accelerator electrodes",
        hyde="The accelerator electrodes were plated with gold bought from a jeweller.",
    ),
    Needle(
        fact="Readings from the seismograph in the cellar were useless on Tuesdays because "
        "the brewery next door rolled barrels across its yard.",
        question="Why were the ground vibration records unusable one day each week?",
        lex="ground vibration records unusable weekly",
        vec="the reason the earthquake sensor data was ruined on a particular weekday",
        hyde="Every Monday the ground vibration records were spoiled by heavy machinery at a "
        "nearby factory.",
    ),
    Needle(
        fact="The differential analyser was finally dismantled in 1964 and its gears were sold "
        "to a clockmaker in Utrecht.",
        question="What became of the mechanical integrating machine's parts once it was taken "
        "apart?",
        lex="mechanical integrating machine parts taken apart",
        vec="what happened to the components of the mechanical calculator after it was scrapped",
        hyde="After the mechanical integrator was scrapped, its parts were given to a museum.",
    ),
    Needle(
        fact="Anneke Voss calculated the whole ionosphere table with a slide rule while "
        "snowed in at a mountain hut for nine days.",
        question="How were the upper-atmosphere layer figures worked out while the author was "
        "trapped by bad weather?",
        lex="upper atmosphere layer figures calculated trapped weather",
        vec="computing the tables of the high atmosphere by hand while stuck in a storm",
        hyde="The atmospheric tables were computed by hand with logarithm tables while the "
        "author was stranded by a storm.",
    ),
    Needle(
        fact="The transistor amplifier oscillated until someone noticed that the soldering "
        "iron had been left plugged into the same bench socket.",
        question="What tool connected to the workbench power made the circuit become unstable?",
        lex="tool workbench power circuit unstable",
        vec="a device plugged into the bench supply that made the electronics misbehave",
        hyde="The circuit became unstable because an electric drill was plugged into the same "
        "outlet.",
    ),
    Needle(
        fact="The team measured the speed of sound in the corridor using a starting pistol "
        "borrowed from the university athletics club.",
        question="What sports equipment did the physicists use to time acoustic waves indoors?",
        lex="sports equipment time acoustic waves indoors",
        vec="gear from athletics used to measure how fast sound travels inside a building",
        hyde="The physicists timed the sound waves with a stopwatch borrowed from the "
        "football coach.",
    ),
    Needle(
        fact="The thermocouples were calibrated against the boiling point of water on a "
        "mountain pass, which skewed every temperature by almost three degrees.",
        question="Why were all the heat sensor values off by a few degrees?",
        lex="heat sensor values off degrees error",
        vec="the cause of a systematic error of several degrees in the temperature probes",
        hyde="All the temperature readings were a few degrees too high because the sensors "
        "were calibrated wrongly.",
    ),
    Needle(
        fact="The photographic plates from the eclipse expedition were developed in a hotel "
        "bathtub in Lisbon.",
        question="Where were the images of the solar occultation processed?",
        lex="images solar occultation processed developed",
        vec="the place where the pictures of the sun being covered were developed",
        hyde="The photographs of the solar eclipse were developed in a makeshift darkroom.",
    ),
    Needle(
        fact="Power for the remote cosmic ray hut came from a windmill salvaged from a "
        "Friesian dairy farm.",
        question="How was electricity supplied to the isolated particle detector shelter?",
        lex="electricity supplied isolated particle detector shelter",
        vec="the source of electric power for a remote radiation detector station",
        hyde="The remote detector station was powered by a diesel generator and batteries.",
    ),
    Needle(
        fact="The analogue computer's output plotter used a fountain pen that had to be "
        "refilled with ink every forty minutes.",
        question="How often did the graph-drawing device's writing instrument need topping up?",
        lex="graph drawing device writing instrument refill",
        vec="how frequently the chart recorder's pen had to be refilled",
        hyde="The chart recorder pen had to be refilled with ink every hour.",
    ),
    Needle(
        fact="Students were forbidden to enter the reactor hall wearing nylon stockings "
        "because the static charge triggered the radiation alarms.",
        question="Which clothing was banned near the nuclear pile and why?",
        lex="clothing banned nuclear pile",
        vec="garments that were not allowed near the atomic reactor and the reason",
        hyde="Wool clothing was banned in the reactor building because it set off the detectors.",
    ),
    Needle(
        fact="The spectrometer's diffraction grating was ruled on a lathe that had previously "
        "been used to make bicycle hubs.",
        question="What had the machine that engraved the optical dispersion element been used "
        "for before?",
        lex="machine engraved optical dispersion element previous use",
        vec="the earlier purpose of the machine tool that cut the grating",
        hyde="The ruling engine for the grating had earlier been used to cut gears for clocks.",
    ),
)
