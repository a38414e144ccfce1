"""Flag vocabularies and defaults that --help must show: kept here, free of imports, so building
a parser loads none of the modules that use them."""

BASELINE_SOURCE_KINDS = ("current_attachment", "reply_attachment", "explicit_path_or_url")
DEFAULT_BASELINE_SOURCE_KIND = "explicit_path_or_url"
BASELINE_RESOLUTION_POLICY = "current_attachment>reply_attachment>clarify"
DEFAULT_MAX_BASELINE_MB = 10.0
VARIATION_STRENGTHS = ("low", "medium", "high")
DEFAULT_ENHANCE_MODEL = "google/gemini-3.1-flash-lite"  # the head of models.chains.DEFAULTS (a test holds it)
APIS = ("chat", "images")
PROVIDERS = ("openrouter", "google", "openai")  # who --provider sends generations to (default openrouter)
QUALITIES = ("low", "medium", "high", "auto")
OUTPUT_FORMATS = ("png", "jpeg", "webp", "svg")  # svg: OpenRouter's Images API, vector models only
BACKGROUNDS = ("transparent", "opaque", "auto")
MODERATIONS = ("low", "auto")  # OpenAI generations only (openai-python image_generate_params.py)
REVIEW_PROVIDERS = ("anthropic", "openrouter")
DEFAULT_REVIEW_MODELS = {"anthropic": "claude-sonnet-4-6", "openrouter": "google/gemini-3.5-flash"}  # chain heads
DEFAULT_REVIEW_ROUNDS, MAX_REVIEW_ROUNDS = 3, 10  # generate --review --max-rounds
MAX_BEST_OF = 8  # generate --best-of: candidates made and reviewed in each round
