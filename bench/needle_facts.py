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


NEEDLES_B: tuple[Needle, ...] = (
    Needle(
        fact="The wind tunnel at Stavanger was calibrated with a feather plucked from the "
        "director's own hat.",
        question="What piece of plumage was used to set up the airflow test facility?",
        lex="plumage airflow test facility calibration",
        vec="which bird feather was used to adjust the aerodynamic testing chamber",
        hyde="The air flow rig was tuned using a single goose feather.",
    ),
    Needle(
        fact="Every Friday the plasma group's oscilloscopes were lent to the village dance "
        "band for its light show.",
        question="Who borrowed the laboratory's signal display instruments at the end of each "
        "week?",
        lex="borrowed signal display instruments weekly",
        vec="which outside group took the lab's waveform screens every weekend",
        hyde="The local theatre club borrowed the oscilloscopes every Saturday.",
    ),
    Needle(
        fact="Rosalind Achterberg measured the thermal conductivity of sapphire using a "
        "candle, a stopwatch and a borrowed hairdryer.",
        question="Which household items did the scientist rely on to find how well the "
        "gemstone carries heat?",
        lex="household items gemstone heat conduction measurement",
        vec="everyday objects used to measure how a precious stone conducts heat",
        hyde="She measured the heat flow through the crystal with a kettle and a kitchen "
        "thermometer.",
    ),
    Needle(
        fact="The cloud chamber at Mallory Cross was flooded twice because a beaver had "
        "dammed the stream behind the building.",
        question="What animal caused water to pour into the particle track detector?",
        lex="animal water flooded particle track detector",
        vec="which creature made the particle detector flood",
        hyde="Rats gnawed through a pipe and flooded the detector room.",
    ),
    Needle(
        fact="The first batch of superconducting wire was wound on a bobbin taken from the "
        "local cotton mill.",
        question="Where did the spool for the zero-resistance cable come from?",
        lex="spool zero-resistance cable origin",
        vec="the source of the reel that the superconductor was coiled on",
        hyde="The superconducting cable was wound on a reel salvaged from a shipyard.",
    ),
    Needle(
        fact="The observatory's clock lost four seconds a day until the caretaker stopped "
        "polishing its pendulum with beeswax.",
        question="Why was the timekeeping device at the telescope site running slow?",
        lex="timekeeping device telescope site running slow",
        vec="the reason the observatory's clock kept losing time",
        hyde="The observatory clock ran slow because its room was too cold in winter.",
    ),
    Needle(
        fact="Neutron counts at the Dunmore pile were logged by hand on the back of railway "
        "timetables because paper was rationed.",
        question="On what did the operators write down the reactor's particle tallies during "
        "the shortage?",
        lex="operators wrote reactor particle tallies shortage",
        vec="what the reactor staff used to record counts when paper ran out",
        hyde="During the shortage the counts were written on old newspapers.",
    ),
    Needle(
        fact="The glassblower Tomas Riedl refused to make any vacuum tubes on days when the "
        "wind came from the east.",
        question="Under what weather condition would the craftsman not produce evacuated valves?",
        lex="weather craftsman evacuated valves refused",
        vec="the kind of weather in which the glass worker would not make vacuum valves",
        hyde="The glassblower would not work when it was raining.",
    ),
    Needle(
        fact="The magnetic survey of Inchkeld was halted when nesting gulls attacked anyone "
        "carrying the theodolite.",
        question="What stopped the mapping of the isle's geomagnetic field?",
        lex="stopped mapping island geomagnetic field",
        vec="why the island's magnetic field survey was abandoned",
        hyde="The island's magnetic survey was stopped by storms that washed away the equipment.",
    ),
    Needle(
        fact="The laser's mirrors were aligned every morning by a retired watchmaker who was "
        "paid in pipe tobacco.",
        question="How was the man who adjusted the optical reflectors compensated?",
        lex="man adjusted optical reflectors paid",
        vec="what the person who aligned the mirrors received as payment",
        hyde="The mirror alignment was done by a volunteer who was paid in beer.",
    ),
    Needle(
        fact="The group's only spectrophotometer was smuggled across the border in a crate "
        "labelled as pickled cucumbers.",
        question="How was the light-absorption instrument disguised when it was moved into "
        "the country?",
        lex="light-absorption instrument disguised moved into country",
        vec="how the absorption measuring device was hidden when it was brought across",
        hyde="The instrument was shipped in a box marked as farm machinery.",
    ),
    Needle(
        fact="Lecture demonstrations of static electricity were cancelled after a visiting "
        "bishop's hair stood on end.",
        question="Which incident with a churchman ended the classroom displays of electric charge?",
        lex="incident churchman classroom electric charge displays ended",
        vec="what happened to a clergyman that stopped the electrostatics shows",
        hyde="The demonstrations stopped after a priest received a shock from the machine.",
    ),
    Needle(
        fact="The balloon carrying the cosmic ray plates came down in a vineyard near Macon "
        "and was returned by the grape pickers.",
        question="Who recovered the high-altitude radiation film after its carrier landed on "
        "farmland?",
        lex="recovered high-altitude radiation film landed farmland",
        vec="who found and returned the radiation photographs after the flight came down",
        hyde="Farmers found the balloon in a field and sent the film back to the university.",
    ),
    Needle(
        fact="To damp vibrations the interferometer stood on four half-inflated bicycle "
        "inner tubes.",
        question="What was placed under the light-interference apparatus to isolate it from "
        "shaking?",
        lex="placed under light-interference apparatus isolate shaking",
        vec="what supported the interferometer to keep vibrations out",
        hyde="The interferometer rested on rubber pads and a heavy stone slab.",
    ),
    Needle(
        fact="The department's first computer was switched off each July so that its valves "
        "would not overheat in the summer.",
        question="Why was the early calculating machine shut down for one month every year?",
        lex="early calculating machine shut down month every year",
        vec="the reason the first computer was turned off annually",
        hyde="The computer was shut down every August for maintenance.",
    ),
    Needle(
        fact="The sample of meteorite iron was cut with a saw that belonged to the town's butcher.",
        question="Whose tool sliced the piece of space rock?",
        lex="tool sliced space rock",
        vec="who owned the blade used to cut the fallen meteor fragment",
        hyde="The meteorite was cut with a diamond saw lent by a jeweller.",
    ),
    Needle(
        fact="Ingrid Halvorsen timed the pendulum experiments by counting the chimes of the "
        "cathedral bells across the square.",
        question="What did the physicist listen to in order to measure the swinging weight's "
        "period?",
        lex="physicist listen measure swinging weight period",
        vec="the sound the researcher used to time the pendulum",
        hyde="She timed the pendulum by listening to the ticking of a metronome.",
    ),
    Needle(
        fact="The electron microscope was delivered in pieces by rowing boat because the "
        "bridge to the campus had collapsed.",
        question="How did the high-magnification imaging instrument reach the university "
        "after the crossing failed?",
        lex="high-magnification imaging instrument reached university crossing failed",
        vec="how the microscope was brought to campus when the bridge was out",
        hyde="The microscope was carried across the river on a ferry.",
    ),
    Needle(
        fact="Drift in the strain gauges was traced to the caretaker's cat, which slept on "
        "the warm amplifier every night.",
        question="What pet was behind the creeping readings of the deformation sensors?",
        lex="pet creeping readings deformation sensors",
        vec="which animal caused the strain gauge drift",
        hyde="A dog sleeping next to the sensors caused the readings to drift.",
    ),
    Needle(
        fact="The liquid nitrogen for the summer school was bought from an ice cream factory "
        "on the edge of town.",
        question="Where did the cryogenic coolant for the seasonal course come from?",
        lex="cryogenic coolant seasonal course source",
        vec="the supplier of the very cold liquid for the summer course",
        hyde="The liquid nitrogen was supplied by a nearby hospital.",
    ),
)
"""A second set, written later (2026-12-03) to check figures chosen on ``NEEDLES``: same
construction, other hosts (``bench/needles.py --set b``)."""
