"""The stand-ins for the reference-to-video and multi-reference endpoints,
imported by mock-services.py (which was long enough): Kling's
multi-image-to-video and multi-image-to-image and the start and end frames
of its image-to-video, PixVerse Fusion, Google Veo 3.1 through the Gemini
API, and Vidu's reference-to-video. Each refuses, as its service's
reference says it does, every request whose shape differs from the one
documented: unknown members, counts, types, encodings, and the
combinations the services refuse (Veo's reference images with a first
frame, PixVerse's @ref_name without its entry or its space, Kling's end
frame in a mode that has none).

The helpers (Reject, want_*, image checks) are mock-services.py's, bound
into `h` by bind() before the first request.
"""

import json
import re
import uuid

h = None  # mock-services.py's module, set by bind()


def bind(module):
    global h
    h = module


def only_members(doc, allowed, what):
    """A member the reference does not list is refused, as the services'
    strict parameter checks do."""
    extra = sorted(set(doc) - set(allowed))
    if extra:
        raise h.Reject("%s: unknown parameter%s %s" % (what, "s" if len(extra) > 1 else "",
                                                       ", ".join(extra)))


# Kling's capability map: the models and modes whose image-to-video takes
# an end frame (image_tail).
KLING_END_FRAME = {
    "kling-v1": ("std", "pro"),
    "kling-v1-5": ("pro",),
    "kling-v1-6": ("pro",),
    "kling-v2-1": ("pro",),
    "kling-v2-5-turbo": ("pro",),
    "kling-v2-6": ("pro",),
}

KLING_MULTI_VIDEO_MEMBERS = ("model_name", "image_list", "prompt", "negative_prompt", "mode",
                             "duration", "aspect_ratio", "watermark_info", "callback_url",
                             "external_task_id")
KLING_MULTI_IMAGE_MEMBERS = ("model_name", "prompt", "subject_image_list", "scene_image",
                             "style_image", "n", "aspect_ratio", "watermark_info",
                             "callback_url", "external_task_id")

PIXVERSE_FUSION_MEMBERS = ("image_references", "prompt", "model", "duration", "quality",
                           "aspect_ratio", "seed", "generate_audio_switch")
PIXVERSE_FUSION_MAX = {"v4.5": 3, "v5": 3, "v5.5": 7, "v5.6": 7, "v6": 7}

VEO_MODELS = ("veo-3.1-generate-preview", "veo-3.1-fast-generate-preview")
VEO_INSTANCE_MEMBERS = ("prompt", "image", "lastFrame", "referenceImages", "video")
VEO_PARAMETERS = ("aspectRatio", "durationSeconds", "negativePrompt", "personGeneration",
                  "resolution", "sampleCount", "enhancePrompt")

VIDU_MEMBERS = ("model", "images", "subjects", "prompt", "duration", "seed", "aspect_ratio",
                "resolution", "movement_amplitude", "bgm", "payload", "callback_url")
VIDU_DURATIONS = {"viduq1": (5,), "vidu2.0": (4,), "vidu1.5": (4, 8)}


class RefServices:
    """Methods of the request handler; self is a mock-services Handler."""

    # ---- Kling ----

    def kling_frames_check(self, doc):
        """image2video's start and end frames, as the capability map and
        the mutual exclusions of the reference say."""
        if doc.get("image_tail") is not None:
            model = doc.get("model_name") or "kling-v1"
            mode = doc.get("mode") or "std"
            if mode not in KLING_END_FRAME.get(model, ()):
                raise h.Reject("image_tail: %s in mode %s takes no end frame" % (model, mode))
            if doc.get("static_mask") or doc.get("dynamic_masks") or doc.get("camera_control"):
                raise h.Reject("image_tail cannot go with the motion brush or camera_control")

    def kling_multi_video(self, body):
        if self.fault_on_create():
            return
        doc = self.json_body(body)
        only_members(doc, KLING_MULTI_VIDEO_MEMBERS, "multi-image2video")
        h.want_enum(doc, "model_name", "model_name", ("kling-v1-6",))
        images = doc.get("image_list")
        if not isinstance(images, list) or not 1 <= len(images) <= 4:
            raise h.Reject("image_list: 1 to 4 reference images")
        for i, item in enumerate(images):
            what = "image_list[%d]" % i
            if not isinstance(item, dict) or set(item) != {"image"}:
                raise h.Reject('%s: must be {"image": ...}' % what)
            self.kling_image(item["image"], what + ".image")
        h.want_string(doc, "prompt", "prompt", max_len=2500)
        h.want_string(doc, "negative_prompt", "negative_prompt", False, 2500)
        h.want_enum(doc, "mode", "mode", ("std", "pro"))
        h.want_enum(doc, "duration", "duration", ("5", "10"))
        h.want_enum(doc, "aspect_ratio", "aspect_ratio", ("16:9", "9:16", "1:1"))
        task = self.new_task("kling", ["submitted", "processing"], "video",
                             "Cm" + uuid.uuid4().hex[:20])
        task.extra["kind"] = "videos"
        self.kling_created(task)

    def kling_multi_image(self, body):
        if self.fault_on_create():
            return
        doc = self.json_body(body)
        only_members(doc, KLING_MULTI_IMAGE_MEMBERS, "multi-image2image")
        h.want_enum(doc, "model_name", "model_name", ("kling-v2", "kling-v2-1"))
        h.want_string(doc, "prompt", "prompt", False, 2500)
        subjects = doc.get("subject_image_list")
        if not isinstance(subjects, list) or not 1 <= len(subjects) <= 4:
            raise h.Reject("subject_image_list: 1 to 4 subject images")
        for i, item in enumerate(subjects):
            what = "subject_image_list[%d]" % i
            if not isinstance(item, dict) or set(item) != {"subject_image"}:
                raise h.Reject('%s: must be {"subject_image": ...}' % what)
            self.kling_image(item["subject_image"], what + ".subject_image")
        for key in ("scene_image", "style_image"):
            if doc.get(key) is not None:
                if not isinstance(doc[key], str):
                    raise h.Reject("%s: must be one image (a string)" % key)
                self.kling_image(doc[key], key)
        n = h.want_int(doc, "n", "n", 1, 9) or 1
        h.want_enum(doc, "aspect_ratio", "aspect_ratio", self.KLING_RATIOS)
        task = self.new_task("kling", ["submitted", "processing"], "image",
                             "Ci" + uuid.uuid4().hex[:20], n)
        task.extra["kind"] = "images"
        self.kling_created(task)

    # ---- PixVerse Fusion ----

    def pixverse_fusion(self, body):
        if self.fault_on_create():
            return
        doc = self.json_body(body)
        only_members(doc, PIXVERSE_FUSION_MEMBERS, "fusion")
        model = h.want_enum(doc, "model", "model", tuple(PIXVERSE_FUSION_MAX), True)
        refs = doc.get("image_references")
        most = PIXVERSE_FUSION_MAX[model]
        if not isinstance(refs, list) or not 1 <= len(refs) <= most:
            raise h.Reject("image_references: 1 to %d references for %s" % (most, model))
        names = []
        for i, ref in enumerate(refs):
            what = "image_references[%d]" % i
            if not isinstance(ref, dict) or set(ref) - {"type", "img_id", "ref_name"}:
                raise h.Reject("%s: members are type, img_id and ref_name" % what)
            h.want_enum(ref, "type", what + ".type", ("subject", "background"), True)
            img_id = ref.get("img_id")
            if not h.is_int(img_id):
                raise h.Reject("%s.img_id: must be an integer, not %s" % (what, json.dumps(img_id)))
            with self.state.lock:
                owner = self.state.uploads.get("pixverse", {}).get(img_id, (None, None))[1]
            if owner != self.headers.get("API-KEY"):
                raise h.Reject("Invalid parameter: img_id %d is not an image this account "
                               "uploaded" % img_id)
            name = h.want_string(ref, "ref_name", what + ".ref_name")
            if len(name.encode()) > 30:
                raise h.Reject("%s.ref_name: longer than 30 bytes" % what)
            if name in names:
                raise h.Reject("%s.ref_name: %r is used twice" % (what, name))
            names.append(name)
        prompt = h.want_string(doc, "prompt", "prompt", max_len=2048)
        for m in re.finditer(r"@(\S*)", prompt):
            if m.group(1) not in names:
                raise h.Reject("prompt: @%s names no ref_name of image_references (a space must "
                               "follow @ref_name)" % m.group(1))
            if m.end() >= len(prompt) or prompt[m.end()] != " ":
                raise h.Reject("prompt: a space must follow @%s" % m.group(1))
        duration = h.want_enum(doc, "duration", "duration", (5, 8), True)
        if not h.is_int(duration):
            raise h.Reject("duration: must be an integer")
        h.want_enum(doc, "quality", "quality", ("360p", "540p", "720p", "1080p"), True)
        h.want_enum(doc, "aspect_ratio", "aspect_ratio", ("16:9", "9:16", "4:3", "3:4", "1:1"),
                    True)
        h.want_int(doc, "seed", "seed", 0, 2147483647)
        video_id = 315472036507328 + self.state.next_seed()
        self.new_task("pixverse", [5, 5], "video", str(video_id))
        self.answer(200, {"ErrCode": 0, "ErrMsg": "success", "Resp": {"video_id": video_id}})

    # ---- Google Veo 3.1 (Gemini API) ----

    def veo_image(self, image, what):
        if not isinstance(image, dict):
            raise h.Reject("%s: must be an image object" % what)
        if "inlineData" in image or "inline_data" in image:
            raise h.Reject("`inlineData` isn't supported by this model.")
        if set(image) != {"bytesBase64Encoded", "mimeType"}:
            raise h.Reject("%s: give bytesBase64Encoded and mimeType" % what)
        if image["mimeType"] not in ("image/jpeg", "image/png"):
            raise h.Reject("%s.mimeType: %r is not image/jpeg or image/png"
                           % (what, image["mimeType"]))
        data, info = h.decode_image_base64(image["bytesBase64Encoded"],
                                           what + ".bytesBase64Encoded")
        if h.MIME_OF[info[0]] != image["mimeType"]:
            raise h.Reject("%s: mimeType says %s but the bytes are %s"
                           % (what, image["mimeType"], info[0]))

    def veo_create(self, body, model):
        if self.fault_on_create():
            return
        if model not in VEO_MODELS:
            raise h.Reject("models/%s is not found for API version v1beta" % model, 404)
        doc = self.json_body(body)
        only_members(doc, ("instances", "parameters"), "request")
        instances = doc.get("instances")
        if not isinstance(instances, list) or len(instances) != 1 \
                or not isinstance(instances[0], dict):
            raise h.Reject("instances: must hold one instance")
        inst = instances[0]
        only_members(inst, VEO_INSTANCE_MEMBERS, "instances[0]")
        h.want_string(inst, "prompt", "instances[0].prompt")
        refs = inst.get("referenceImages")
        if refs is not None:
            if not isinstance(refs, list) or not 1 <= len(refs) <= 3:
                raise h.Reject("instances[0].referenceImages: 1 to 3 reference images")
            for i, ref in enumerate(refs):
                what = "instances[0].referenceImages[%d]" % i
                if not isinstance(ref, dict) or set(ref) != {"image", "referenceType"}:
                    raise h.Reject("%s: must be {image, referenceType}" % what)
                if ref["referenceType"] != "asset":
                    raise h.Reject("%s.referenceType: Veo 3.1 takes asset images only" % what)
                self.veo_image(ref["image"], what + ".image")
            for key in ("image", "lastFrame", "video"):
                if key in inst:
                    raise h.Reject("instances[0].%s cannot be used with referenceImages" % key)
        if "image" in inst:
            self.veo_image(inst["image"], "instances[0].image")
        if "lastFrame" in inst:
            if "image" not in inst:
                raise h.Reject("instances[0].lastFrame needs instances[0].image")
            self.veo_image(inst["lastFrame"], "instances[0].lastFrame")
        params = doc.get("parameters", {})
        if not isinstance(params, dict):
            raise h.Reject("parameters: must be an object")
        only_members(params, VEO_PARAMETERS, "parameters")
        h.want_enum(params, "aspectRatio", "parameters.aspectRatio", ("16:9", "9:16"))
        seconds = h.want_enum(params, "durationSeconds", "parameters.durationSeconds", (4, 6, 8))
        person = h.want_enum(params, "personGeneration", "parameters.personGeneration",
                             ("allow_all", "allow_adult", "dont_allow"))
        h.want_string(params, "negativePrompt", "parameters.negativePrompt", False)
        h.want_enum(params, "resolution", "parameters.resolution", ("720p", "1080p"))
        if refs is not None and seconds not in (None, 8):
            raise h.Reject("parameters.durationSeconds: 8 with referenceImages")
        if refs is not None and person not in (None, "allow_adult"):
            raise h.Reject("parameters.personGeneration: allow_adult with referenceImages")
        op = uuid.uuid4().hex[:12]
        name = "models/%s/operations/%s" % (model, op)
        t = self.new_task("gemini", [None, None], "video", name)
        t.extra["prompt"] = inst["prompt"]
        self.answer(200, {"name": name})

    def veo_poll(self, body, model, op):
        name = "models/%s/operations/%s" % (model, op)
        t = self.task("gemini", name)
        status, ended = t.advance()
        doc = {"name": name}
        if ended and t.fail:
            doc.update(done=True, error={"code": 3, "message": "The prompt was blocked by the "
                                                               "safety filters (mock)"})
        elif ended:
            files = []
            for url in t.outputs:
                token = url.rsplit("/", 1)[1].split(".")[0]
                files.append({"video": {"uri": "%s/gemini/v1beta/files/%s:download?alt=media"
                                               % (self.base(), token)}})
            doc.update(done=True, response={
                "@type": "type.googleapis.com/google.ai.generativelanguage.v1beta."
                         "PredictLongRunningResponse",
                "generateVideoResponse": {"generatedSamples": files}})
        else:
            doc["metadata"] = {"@type": "type.googleapis.com/google.ai.generativelanguage."
                                        "v1beta.PredictLongRunningMetadata"}
        self.answer(200, doc)

    def veo_download(self, body, token):
        query = h.parse_qs(h.urlsplit(self.path).query)
        if query.get("alt") != ["media"]:
            raise h.Reject("files download: alt=media is required")
        with self.state.lock:
            entry = self.state.files.get(token)
        if not entry:
            raise h.Reject("File %s not found" % token, 404)
        data, ctype = self.output_bytes(*entry)
        self.answer(200, data, ctype)

    # ---- Vidu ----

    def svc_vidu(self, method, rest, query, body):
        self.want_key("vidu", "Authorization", "Token ")
        fn, args = self.route(method, rest, [
            ("POST", r"/ent/v2/reference2video", self.vidu_create),
            ("GET", r"/ent/v2/tasks/([0-9]+)/creations", self.vidu_poll),
        ])
        fn(body, *args)

    def vidu_image(self, text, what):
        if h.is_https_url(text):
            return
        data, info = h.decode_data_uri(text, what)
        if len(data) >= 10 * 1024 * 1024:
            raise h.Reject("%s: its base64 decodes to 10 MB or more" % what)
        width, height = info[1], info[2]
        if width is not None and (min(width, height) < 128 or
                                  not 0.25 < width / height < 4):
            raise h.Reject("%s: %dx%d: at least 128x128 and a ratio under 4:1"
                           % (what, width, height))

    def vidu_create(self, body):
        if self.fault_on_create():
            return
        if len(body) > 20 * 1024 * 1024:
            raise h.Reject("the request body is larger than 20 MB")
        doc = self.json_body(body)
        only_members(doc, VIDU_MEMBERS, "reference2video")
        model = h.want_enum(doc, "model", "model", tuple(VIDU_DURATIONS), True)
        if ("images" in doc) == ("subjects" in doc):
            raise h.Reject("give images or subjects, one of them")
        ids = []
        total = 0
        if "subjects" in doc:
            subjects = doc["subjects"]
            if not isinstance(subjects, list) or not 1 <= len(subjects) <= 7:
                raise h.Reject("subjects: 1 to 7 subjects")
            for i, sub in enumerate(subjects):
                what = "subjects[%d]" % i
                if not isinstance(sub, dict) or set(sub) - {"id", "images", "voice_id"}:
                    raise h.Reject("%s: members are id, images and voice_id" % what)
                sid = h.want_string(sub, "id", what + ".id")
                if sid in ids:
                    raise h.Reject("%s.id: %r is used twice" % (what, sid))
                ids.append(sid)
                images = sub.get("images")
                if not isinstance(images, list) or not 1 <= len(images) <= 3:
                    raise h.Reject("%s.images: 1 to 3 images" % what)
                for k, image in enumerate(images):
                    self.vidu_image(image, "%s.images[%d]" % (what, k))
                total += len(images)
        else:
            images = doc["images"]
            if not isinstance(images, list) or not 1 <= len(images) <= 7:
                raise h.Reject("images: 1 to 7 images")
            for k, image in enumerate(images):
                self.vidu_image(image, "images[%d]" % k)
            total = len(images)
        if total > 7:
            raise h.Reject("subjects: 1 to 7 images in all (got %d)" % total)
        prompt = h.want_string(doc, "prompt", "prompt", max_len=1500)
        for m in re.finditer(r"@([A-Za-z0-9_-]+)", prompt):
            if ids and m.group(1) not in ids:
                raise h.Reject("prompt: @%s is not the id of a subject" % m.group(1))
        duration = doc.get("duration")
        if duration is not None and duration not in VIDU_DURATIONS[model]:
            raise h.Reject("duration: %s takes %s" % (model, VIDU_DURATIONS[model]))
        h.want_int(doc, "seed", "seed", 0, 2 ** 31 - 1)
        h.want_enum(doc, "aspect_ratio", "aspect_ratio", ("16:9", "9:16", "1:1"))
        h.want_enum(doc, "movement_amplitude", "movement_amplitude",
                    ("auto", "small", "medium", "large"))
        task_id = str(860000000000000000 + self.state.next_seed())
        t = self.new_task("vidu", ["queueing", "processing"], "video", task_id)
        t.extra["prompt"] = prompt
        self.answer(200, {"task_id": task_id, "state": "created", "model": model,
                          "prompt": prompt, "duration": duration or VIDU_DURATIONS[model][0],
                          "seed": doc.get("seed", 1), "aspect_ratio": doc.get("aspect_ratio",
                                                                               "16:9"),
                          "created_at": "2026-01-01T00:00:00.000000Z"})

    def vidu_poll(self, body, task_id):
        t = self.task("vidu", task_id)
        status, ended = t.advance()
        doc = {"id": t.id, "state": status, "err_code": "", "credits": 4, "payload": "",
               "creations": []}
        if ended and t.fail:
            doc.update(state="failed", err_code="AuditSubmitIllegal")
        elif ended:
            doc.update(state="success", creations=[{"id": uuid.uuid4().hex[:8], "url": u,
                                                    "cover_url": u} for u in t.outputs])
        self.answer(200, doc)
