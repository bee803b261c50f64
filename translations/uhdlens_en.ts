<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="en" sourcelanguage="en">
<context>
    <name>ConversationExport</name>
    <message>
        <source>UHD Lens conversation about %1</source>
        <translation>UHD Lens conversation about %1</translation>
    </message>
    <message>
        <source>Image</source>
        <translation>Image</translation>
    </message>
    <message>
        <source>Region</source>
        <translation>Region</translation>
    </message>
    <message>
        <source>Plan</source>
        <translation>Plan</translation>
    </message>
    <message>
        <source>slices</source>
        <translation>slices</translation>
    </message>
    <message>
        <source>not sliced</source>
        <translation>not sliced</translation>
    </message>
    <message>
        <source>Model</source>
        <translation>Model</translation>
    </message>
    <message>
        <source>weights SHA-256</source>
        <translation>weights SHA-256</translation>
    </message>
    <message>
        <source>Settings</source>
        <translation>Settings</translation>
    </message>
    <message>
        <source>Error:</source>
        <translation>Error:</translation>
    </message>
    <message>
        <source>image tokens</source>
        <translation>image tokens</translation>
    </message>
    <message>
        <source>tokens generated</source>
        <translation>tokens generated</translation>
    </message>
    <message>
        <source>image from cache</source>
        <translation>image from cache</translation>
    </message>
    <message>
        <source>Question</source>
        <translation>Question</translation>
    </message>
    <message>
        <source>UHD plan</source>
        <translation>UHD plan</translation>
    </message>
    <message>
        <source>LLaVA-1.5 baseline</source>
        <translation>LLaVA-1.5 baseline</translation>
    </message>
</context>
<context>
    <name>ErrorText</name>
    <message>
        <source>The file does not exist.</source>
        <translation>The file does not exist.</translation>
    </message>
    <message>
        <source>This is a folder or a special file, not an image file.</source>
        <translation>This is a folder or a special file, not an image file.</translation>
    </message>
    <message>
        <source>The file cannot be read (check its permissions).</source>
        <translation>The file cannot be read (check its permissions).</translation>
    </message>
    <message>
        <source>The file is not an image UHD Lens can read.</source>
        <translation>The file is not an image UHD Lens can read.</translation>
    </message>
    <message>
        <source>The image is damaged or incomplete.</source>
        <translation>The image is damaged or incomplete.</translation>
    </message>
    <message>
        <source>The image has no pixels (zero width or height).</source>
        <translation>The image has no pixels (zero width or height).</translation>
    </message>
    <message>
        <source>The image is too large to open safely (over the pixel limit).</source>
        <translation>The image is too large to open safely (over the pixel limit).</translation>
    </message>
    <message>
        <source>The model&apos;s weights are incomplete (a tensor is missing).</source>
        <translation>The model&apos;s weights are incomplete (a tensor is missing).</translation>
    </message>
    <message>
        <source>The model&apos;s weights do not match its configuration.</source>
        <translation>The model&apos;s weights do not match its configuration.</translation>
    </message>
    <message>
        <source>This model family is not supported.</source>
        <translation>This model family is not supported.</translation>
    </message>
    <message>
        <source>The model&apos;s tokenizer is missing or damaged.</source>
        <translation>The model&apos;s tokenizer is missing or damaged.</translation>
    </message>
    <message>
        <source>A setting is out of range.</source>
        <translation>A setting is out of range.</translation>
    </message>
    <message>
        <source>The image and question do not fit into the model&apos;s context. Allow fewer slices or ask a shorter question.</source>
        <translation>The image and question do not fit into the model&apos;s context. Allow fewer slices or ask a shorter question.</translation>
    </message>
    <message>
        <source>The chosen compute device is not available.</source>
        <translation>The chosen compute device is not available.</translation>
    </message>
    <message>
        <source>Cancelled.</source>
        <translation>Cancelled.</translation>
    </message>
    <message>
        <source>An internal error occurred.</source>
        <translation>An internal error occurred.</translation>
    </message>
    <message>
        <source>Concerning: %1</source>
        <translation>Concerning: %1</translation>
    </message>
    <message>
        <source>Details: %1</source>
        <translation>Details: %1</translation>
    </message>
    <message>
        <source>An unexpected error occurred.</source>
        <translation>An unexpected error occurred.</translation>
    </message>
    <message>
        <source>The model keeps weights in a PyTorch pickle file, which UHD Lens does not load directly; it can convert them to safetensors.</source>
        <translation>The model keeps weights in a PyTorch pickle file, which UHD Lens does not load directly; it can convert them to safetensors.</translation>
    </message>
    <message>
        <source>A pickle weight file contains something other than plain tensors (or is in an old format); it was not converted.</source>
        <translation>A pickle weight file contains something other than plain tensors (or is in an old format); it was not converted.</translation>
    </message>
    <message>
        <source>The model&apos;s weight files are damaged or not in a format UHD Lens reads (safetensors or GGUF).</source>
        <translation>The model&apos;s weight files are damaged or not in a format UHD Lens reads (safetensors or GGUF).</translation>
    </message>
    <message>
        <source>This is not a model UHD Lens can load (config.json or the GGUF metadata is missing or invalid, or the files do not belong together).</source>
        <translation>This is not a model UHD Lens can load (config.json or the GGUF metadata is missing or invalid, or the files do not belong together).</translation>
    </message>
    <message>
        <source>A GGUF vision model needs two files, the language model and its mmproj (vision projector) file; one of them was not found.</source>
        <translation>A GGUF vision model needs two files, the language model and its mmproj (vision projector) file; one of them was not found.</translation>
    </message>
    <message>
        <source>It is not clear which two GGUF files make the model (several candidates, or two files of the same kind): choose the language-model file and then its mmproj file.</source>
        <translation>It is not clear which two GGUF files make the model (several candidates, or two files of the same kind): choose the language-model file and then its mmproj file.</translation>
    </message>
    <message>
        <source>The two GGUF files do not belong together: the mmproj is not a projector UHD Lens supports or does not fit this language model.</source>
        <translation>The two GGUF files do not belong together: the mmproj is not a projector UHD Lens supports or does not fit this language model.</translation>
    </message>
    <message>
        <source>The folder to save in does not exist.</source>
        <translation>The folder to save in does not exist.</translation>
    </message>
    <message>
        <source>UHD Lens may not write in this folder (check its permissions, or choose another one).</source>
        <translation>UHD Lens may not write in this folder (check its permissions, or choose another one).</translation>
    </message>
    <message>
        <source>The disk is full: free some space, or choose another folder.</source>
        <translation>The disk is full: free some space, or choose another folder.</translation>
    </message>
    <message>
        <source>The file could not be saved.</source>
        <translation>The file could not be saved.</translation>
    </message>
    <message>
        <source>The file already there is unchanged.</source>
        <translation>The file already there is unchanged.</translation>
    </message>
    <message>
        <source>Nothing was written.</source>
        <translation>Nothing was written.</translation>
    </message>
    <message>
        <source>cannot write the file</source>
        <translation>cannot write the file</translation>
    </message>
    <message>
        <source>The text recognition data (Tesseract) for a language is not installed.</source>
        <translation>The text recognition data (Tesseract) for a language is not installed.</translation>
    </message>
</context>
<context>
    <name>main</name>
    <message>
        <source>Ask questions about images of any size; see how each image is sliced and what it costs.</source>
        <translation>Ask questions about images of any size; see how each image is sliced and what it costs.</translation>
    </message>
    <message>
        <source>Load the model in DIR.</source>
        <translation>Load the model in DIR.</translation>
    </message>
    <message>
        <source>Save a PNG of the main window to FILE once the first plan is drawn, then quit.</source>
        <translation>Save a PNG of the main window to FILE once the first plan is drawn, then quit.</translation>
    </message>
    <message>
        <source>Initial window size, e.g. 1600x1000.</source>
        <translation>Initial window size, e.g. 1600x1000.</translation>
    </message>
    <message>
        <source>Do not load the saved or bundled model.</source>
        <translation>Do not load the saved or bundled model.</translation>
    </message>
    <message>
        <source>Image files to open.</source>
        <translation>Image files to open.</translation>
    </message>
    <message>
        <source>Ask QUESTION about the first image once the model is loaded (with --screenshot: grab after the answer).</source>
        <translation>Ask QUESTION about the first image once the model is loaded (with --screenshot: grab after the answer).</translation>
    </message>
    <message>
        <source>Answer --ask also with the LLaVA-1.5 baseline (A/B).</source>
        <translation>Answer --ask also with the LLaVA-1.5 baseline (A/B).</translation>
    </message>
    <message>
        <source>With a GGUF language-model file as --model: its mmproj (vision projector) file.</source>
        <translation>With a GGUF language-model file as --model: its mmproj (vision projector) file.</translation>
    </message>
    <message>
        <source>Open the Batch dialog on PATH (a folder or an image) and run it once the model is loaded: --ask is the question, else the model&apos;s transcription prompt (with --screenshot: grab the dialog when the run ends).</source>
        <translation>Open the Batch dialog on PATH (a folder or an image) and run it once the model is loaded: --ask is the question, else the model&apos;s transcription prompt (with --screenshot: grab the dialog when the run ends).</translation>
    </message>
    <message>
        <source>The --batch output file: .jsonl, .csv or .md.</source>
        <translation>The --batch output file: .jsonl, .csv or .md.</translation>
    </message>
    <message>
        <source>Show the Markdown text in FILE as a recorded answer about the first image (for documentation screenshots: it is not the model&apos;s answer).</source>
        <translation>Show the Markdown text in FILE as a recorded answer about the first image (for documentation screenshots: it is not the model&apos;s answer).</translation>
    </message>
    <message>
        <source>Transcribe this page.</source>
        <translation>Transcribe this page.</translation>
    </message>
    <message>
        <source>Start by selecting a screen region to open (Esc cancels).</source>
        <translation>Start by selecting a screen region to open (Esc cancels).</translation>
    </message>
    <message>
        <source>With --capture: transcribe the region with the loaded model and copy the text to the clipboard, without showing the main window.</source>
        <translation>With --capture: transcribe the region with the loaded model and copy the text to the clipboard, without showing the main window.</translation>
    </message>
    <message>
        <source>Do not hand the arguments to a running UHD Lens; start a new one.</source>
        <translation>Do not hand the arguments to a running UHD Lens; start a new one.</translation>
    </message>
    <message>
        <source>Show the text layer of the first image (with --screenshot: grab once its text is recognised).</source>
        <translation>Show the text layer of the first image (with --screenshot: grab once its text is recognised).</translation>
    </message>
</context>
<context>
    <name>uhdlens::ui::BatchDialog</name>
    <message>
        <source>Batch</source>
        <translation>Batch</translation>
    </message>
    <message>
        <source>Images: the folders are read recursively; images are recognised by their content.</source>
        <translation>Images: the folders are read recursively; images are recognised by their content.</translation>
    </message>
    <message>
        <source>Add &amp;Folder…</source>
        <translation>Add &amp;Folder…</translation>
    </message>
    <message>
        <source>Add F&amp;iles…</source>
        <translation>Add F&amp;iles…</translation>
    </message>
    <message>
        <source>C&amp;lear</source>
        <translation>C&amp;lear</translation>
    </message>
    <message>
        <source>&amp;Ask:</source>
        <translation>&amp;Ask:</translation>
    </message>
    <message>
        <source>The question asked about every image</source>
        <translation>The question asked about every image</translation>
    </message>
    <message>
        <source>&amp;Transcribe: the model&apos;s transcription prompt (text in reading order, tables as Markdown)</source>
        <translation>&amp;Transcribe: the model&apos;s transcription prompt (text in reading order, tables as Markdown)</translation>
    </message>
    <message>
        <source>&amp;Output file:</source>
        <translation>&amp;Output file:</translation>
    </message>
    <message>
        <source>results.jsonl, results.csv or results.md (replaced if it exists)</source>
        <translation>results.jsonl, results.csv or results.md (replaced if it exists)</translation>
    </message>
    <message>
        <source>C&amp;hoose…</source>
        <translation>C&amp;hoose…</translation>
    </message>
    <message>
        <source>&amp;Start</source>
        <translation>&amp;Start</translation>
    </message>
    <message>
        <source>&amp;Cancel Run</source>
        <translation>&amp;Cancel Run</translation>
    </message>
    <message>
        <source>Stop inside the current image; the output file keeps the records written so far</source>
        <translation>Stop inside the current image; the output file keeps the records written so far</translation>
    </message>
    <message>
        <source>File</source>
        <translation>File</translation>
    </message>
    <message>
        <source>Grid</source>
        <translation>Grid</translation>
    </message>
    <message>
        <source>Tokens</source>
        <translation>Tokens</translation>
    </message>
    <message>
        <source>Answer or error</source>
        <translation>Answer or error</translation>
    </message>
    <message>
        <source>Double-click a row to open the image with its answer</source>
        <translation>Double-click a row to open the image with its answer</translation>
    </message>
    <message>
        <source>No model is loaded: load one to run a batch.</source>
        <translation>No model is loaded: load one to run a batch.</translation>
    </message>
    <message>
        <source>%1, at most %2 slices</source>
        <translation>%1, at most %2 slices</translation>
    </message>
    <message numerus="yes">
        <source>Model %1 · slicing %2 (from the plan panel) · at most %n new token(s) per answer (Preferences)</source>
        <translation>
            <numerusform>Model %1 · slicing %2 (from the plan panel) · at most %n new token per answer (Preferences)</numerusform>
            <numerusform>Model %1 · slicing %2 (from the plan panel) · at most %n new tokens per answer (Preferences)</numerusform>
        </translation>
    </message>
    <message>
        <source>Add a Folder of Images</source>
        <translation>Add a Folder of Images</translation>
    </message>
    <message>
        <source>Add Images</source>
        <translation>Add Images</translation>
    </message>
    <message>
        <source>Batch Output File</source>
        <translation>Batch Output File</translation>
    </message>
    <message>
        <source>JSON lines (*.jsonl)</source>
        <translation>JSON lines (*.jsonl)</translation>
    </message>
    <message>
        <source>CSV (*.csv)</source>
        <translation>CSV (*.csv)</translation>
    </message>
    <message>
        <source>Markdown (*.md)</source>
        <translation>Markdown (*.md)</translation>
    </message>
    <message>
        <source>A batch is already running.</source>
        <translation>A batch is already running.</translation>
    </message>
    <message>
        <source>Add a folder or image files first.</source>
        <translation>Add a folder or image files first.</translation>
    </message>
    <message>
        <source>Type the question to ask about every image, or choose Transcribe.</source>
        <translation>Type the question to ask about every image, or choose Transcribe.</translation>
    </message>
    <message>
        <source>Choose the output file.</source>
        <translation>Choose the output file.</translation>
    </message>
    <message>
        <source>Cannot tell the output format of %1: name it .jsonl, .csv or .md.</source>
        <translation>Cannot tell the output format of %1: name it .jsonl, .csv or .md.</translation>
    </message>
    <message>
        <source>%1 is a folder; choose a file.</source>
        <translation>%1 is a folder; choose a file.</translation>
    </message>
    <message>
        <source>Looking for images…</source>
        <translation>Looking for images…</translation>
    </message>
    <message>
        <source>Cancelling…</source>
        <translation>Cancelling…</translation>
    </message>
    <message numerus="yes">
        <source>%n image(s) to do</source>
        <translation>
            <numerusform>%n image to do</numerusform>
            <numerusform>%n images to do</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>%n non-image file(s) skipped</source>
        <translation>
            <numerusform>%n non-image file skipped</numerusform>
            <numerusform>%n non-image files skipped</numerusform>
        </translation>
    </message>
    <message>
        <source>Question: %1</source>
        <translation>Question: %1</translation>
    </message>
    <message>
        <source>working…</source>
        <translation>working…</translation>
    </message>
    <message numerus="yes">
        <source>%1×%2, %n slice(s)</source>
        <translation>
            <numerusform>%1×%2, %n slice</numerusform>
            <numerusform>%1×%2, %n slices</numerusform>
        </translation>
    </message>
    <message>
        <source>overview only</source>
        <translation>overview only</translation>
    </message>
    <message>
        <source>%1 visual tokens; %2 prompt tokens; %3 tokens generated</source>
        <translation>%1 visual tokens; %2 prompt tokens; %3 tokens generated</translation>
    </message>
    <message>
        <source>%1 / %2 images · %3 images/min · ETA %4</source>
        <translation>%1 / %2 images · %3 images/min · ETA %4</translation>
    </message>
    <message>
        <source>cancelled (not in the output file)</source>
        <translation>cancelled (not in the output file)</translation>
    </message>
    <message>
        <source>Cancelled after %1 of %2 images; %3 holds their records.</source>
        <translation>Cancelled after %1 of %2 images; %3 holds their records.</translation>
    </message>
    <message numerus="yes">
        <source>Done: %n image(s)</source>
        <translation>
            <numerusform>Done: %n image</numerusform>
            <numerusform>Done: %n images</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>%n failed</source>
        <translation>
            <numerusform>%n failed</numerusform>
            <numerusform>%n failed</numerusform>
        </translation>
    </message>
    <message>
        <source>wrote %1</source>
        <translation>wrote %1</translation>
    </message>
    <message>
        <source>The batch stopped: %1</source>
        <translation>The batch stopped: %1</translation>
    </message>
</context>
<context>
    <name>uhdlens::ui::CaptureTranscriber</name>
    <message>
        <source>Waiting for the model to load…</source>
        <translation>Waiting for the model to load…</translation>
    </message>
    <message>
        <source>The model could not be loaded: %1</source>
        <translation>The model could not be loaded: %1</translation>
    </message>
    <message>
        <source>No model is loaded: open UHD Lens and choose one first.</source>
        <translation>No model is loaded: open UHD Lens and choose one first.</translation>
    </message>
    <message>
        <source>The captured image was closed.</source>
        <translation>The captured image was closed.</translation>
    </message>
    <message>
        <source>Transcribing…</source>
        <translation>Transcribing…</translation>
    </message>
    <message>
        <source>The question could not be asked.</source>
        <translation>The question could not be asked.</translation>
    </message>
    <message>
        <source>Transcription stopped.</source>
        <translation>Transcription stopped.</translation>
    </message>
</context>
<context>
    <name>uhdlens::ui::ChatPanel</name>
    <message>
        <source>&amp;Send</source>
        <translation>&amp;Send</translation>
    </message>
    <message>
        <source>Ask the question about this image (Ctrl+Enter)</source>
        <translation>Ask the question about this image (Ctrl+Enter)</translation>
    </message>
    <message>
        <source>S&amp;top</source>
        <translation>S&amp;top</translation>
    </message>
    <message>
        <source>Stop the answer (Esc)</source>
        <translation>Stop the answer (Esc)</translation>
    </message>
    <message>
        <source>&amp;Regenerate</source>
        <translation>&amp;Regenerate</translation>
    </message>
    <message>
        <source>Answer the last question again, starting the model&apos;s context afresh (Ctrl+Shift+R)</source>
        <translation>Answer the last question again, starting the model&apos;s context afresh (Ctrl+Shift+R)</translation>
    </message>
    <message>
        <source>&amp;Copy Answer</source>
        <translation>&amp;Copy Answer</translation>
    </message>
    <message>
        <source>Copy the last answer to the clipboard (Ctrl+Shift+C)</source>
        <translation>Copy the last answer to the clipboard (Ctrl+Shift+C)</translation>
    </message>
    <message>
        <source>A/B vs LLaVA-1.5</source>
        <translation>A/B vs LLaVA-1.5</translation>
    </message>
    <message>
        <source>Also answer with the LLaVA-1.5 baseline plan (one 336×336 view) and show both side by side (Ctrl+B)</source>
        <translation>Also answer with the LLaVA-1.5 baseline plan (one 336×336 view) and show both side by side (Ctrl+B)</translation>
    </message>
    <message>
        <source>C&amp;lear Conversation</source>
        <translation>C&amp;lear Conversation</translation>
    </message>
    <message>
        <source>image tokens from cache</source>
        <translation>image tokens from cache</translation>
    </message>
    <message>
        <source>This follow-up reused the image&apos;s encoded tokens; no slice was encoded again.</source>
        <translation>This follow-up reused the image&apos;s encoded tokens; no slice was encoded again.</translation>
    </message>
    <message>
        <source>Ask about this image… (Ctrl+Enter sends)</source>
        <translation>Ask about this image… (Ctrl+Enter sends)</translation>
    </message>
    <message>
        <source>No image is open.</source>
        <translation>No image is open.</translation>
    </message>
    <message>
        <source>Ask a question about %1.</source>
        <translation>Ask a question about %1.</translation>
    </message>
    <message>
        <source>No model is loaded. The slice plan works without one; open a model folder (Model &gt; Open Model Folder) to ask questions.</source>
        <translation>No model is loaded. The slice plan works without one; open a model folder (Model &gt; Open Model Folder) to ask questions.</translation>
    </message>
    <message>
        <source>%1 image tokens</source>
        <translation>%1 image tokens</translation>
    </message>
    <message>
        <source>%1 tokens generated</source>
        <translation>%1 tokens generated</translation>
    </message>
    <message>
        <source>%1 s</source>
        <translation>%1 s</translation>
    </message>
    <message>
        <source>%1 tokens/s</source>
        <translation>%1 tokens/s</translation>
    </message>
    <message>
        <source>image from cache</source>
        <translation>image from cache</translation>
    </message>
    <message>
        <source>stopped</source>
        <translation>stopped</translation>
    </message>
    <message>
        <source>You:</source>
        <translation>You:</translation>
    </message>
    <message>
        <source>UHD plan</source>
        <translation>UHD plan</translation>
    </message>
    <message>
        <source>LLaVA-1.5 baseline</source>
        <translation>LLaVA-1.5 baseline</translation>
    </message>
    <message>
        <source>Model:</source>
        <translation>Model:</translation>
    </message>
    <message>
        <source>Suggested questions:</source>
        <translation>Suggested questions:</translation>
    </message>
    <message>
        <source>(no answer: the model ended its reply without any text)</source>
        <translation>(no answer: the model ended its reply without any text)</translation>
    </message>
    <message>
        <source>&amp;Transcribe</source>
        <translation>&amp;Transcribe</translation>
    </message>
    <message>
        <source>Ask the model for all the text of this image in reading order, tables as Markdown (Ctrl+T)</source>
        <translation>Ask the model for all the text of this image in reading order, tables as Markdown (Ctrl+T)</translation>
    </message>
    <message>
        <source>Copy as Markdown</source>
        <translation>Copy as Markdown</translation>
    </message>
    <message>
        <source>Copy as plain text</source>
        <translation>Copy as plain text</translation>
    </message>
    <message>
        <source>Copy Answer as Markdown</source>
        <translation>Copy Answer as Markdown</translation>
    </message>
    <message>
        <source>Copy Answer as Plain Text</source>
        <translation>Copy Answer as Plain Text</translation>
    </message>
</context>
<context>
    <name>uhdlens::ui::EngineWorker</name>
    <message>
        <source>No model is loaded. Open a model folder (Model &gt; Open Model Folder) to ask questions.</source>
        <translation>No model is loaded. Open a model folder (Model &gt; Open Model Folder) to ask questions.</translation>
    </message>
    <message numerus="yes">
        <source>%1 → %2 (%n tensor(s))</source>
        <translation>
            <numerusform>%1 → %2 (%n tensor)</numerusform>
            <numerusform>%1 → %2 (%n tensors)</numerusform>
        </translation>
    </message>
    <message>
        <source>Cannot tell the output format of %1: name it .jsonl, .csv or .md.</source>
        <translation>Cannot tell the output format of %1: name it .jsonl, .csv or .md.</translation>
    </message>
    <message numerus="yes">
        <source>No image found in the given files and folders (%n other file(s) skipped).</source>
        <translation>
            <numerusform>No image found in the given files and folders (%n other file skipped).</numerusform>
            <numerusform>No image found in the given files and folders (%n other files skipped).</numerusform>
        </translation>
    </message>
</context>
<context>
    <name>uhdlens::ui::MainWindow</name>
    <message>
        <source>Cannot open image</source>
        <translation>Cannot open image</translation>
    </message>
    <message>
        <source>%1 could not be opened.</source>
        <translation>%1 could not be opened.</translation>
    </message>
    <message>
        <source>No bundled model</source>
        <translation>No bundled model</translation>
    </message>
    <message>
        <source>The bundled model (resources/models/uhd-lens-tiny) is not installed.</source>
        <translation>The bundled model (resources/models/uhd-lens-tiny) is not installed.</translation>
    </message>
    <message>
        <source>About UHD Lens</source>
        <translation>About UHD Lens</translation>
    </message>
    <message>
        <source>&lt;b&gt;UHD Lens %1&lt;/b&gt;&lt;br&gt;Ask questions about images of any size. The image is cut into slices at native resolution (LLaVA-UHD), and you see every slice, what the model sees, and what it costs.</source>
        <translation>&lt;b&gt;UHD Lens %1&lt;/b&gt;&lt;br&gt;Ask questions about images of any size. The image is cut into slices at native resolution (LLaVA-UHD), and you see every slice, what the model sees, and what it costs.</translation>
    </message>
    <message>
        <source>%1 — UHD Lens</source>
        <translation>%1 — UHD Lens</translation>
    </message>
    <message>
        <source>UHD Lens</source>
        <translation>UHD Lens</translation>
    </message>
    <message>
        <source>&amp;File</source>
        <translation>&amp;File</translation>
    </message>
    <message>
        <source>Open &amp;Recent</source>
        <translation>Open &amp;Recent</translation>
    </message>
    <message>
        <source>&amp;View</source>
        <translation>&amp;View</translation>
    </message>
    <message>
        <source>&amp;Model</source>
        <translation>&amp;Model</translation>
    </message>
    <message>
        <source>&amp;Chat</source>
        <translation>&amp;Chat</translation>
    </message>
    <message>
        <source>&amp;Settings</source>
        <translation>&amp;Settings</translation>
    </message>
    <message>
        <source>&amp;Language</source>
        <translation>&amp;Language</translation>
    </message>
    <message>
        <source>&amp;Help</source>
        <translation>&amp;Help</translation>
    </message>
    <message>
        <source>Toolbar</source>
        <translation>Toolbar</translation>
    </message>
    <message>
        <source>&amp;Open Images…</source>
        <translation>&amp;Open Images…</translation>
    </message>
    <message>
        <source>Open image files (Ctrl+O)</source>
        <translation>Open image files (Ctrl+O)</translation>
    </message>
    <message>
        <source>&amp;Paste Image</source>
        <translation>&amp;Paste Image</translation>
    </message>
    <message>
        <source>Paste an image or copied image files (Ctrl+V)</source>
        <translation>Paste an image or copied image files (Ctrl+V)</translation>
    </message>
    <message>
        <source>&amp;Capture Screen Region…</source>
        <translation>&amp;Capture Screen Region…</translation>
    </message>
    <message>
        <source>Grab a rectangle of the screen (X11 only) (Ctrl+Shift+X)</source>
        <translation>Grab a rectangle of the screen (X11 only) (Ctrl+Shift+X)</translation>
    </message>
    <message>
        <source>Close &amp;Image</source>
        <translation>Close &amp;Image</translation>
    </message>
    <message>
        <source>Export Conversation as &amp;Markdown…</source>
        <translation>Export Conversation as &amp;Markdown…</translation>
    </message>
    <message>
        <source>Export Conversation as &amp;JSON…</source>
        <translation>Export Conversation as &amp;JSON…</translation>
    </message>
    <message>
        <source>&amp;Quit</source>
        <translation>&amp;Quit</translation>
    </message>
    <message>
        <source>Zoom &amp;In</source>
        <translation>Zoom &amp;In</translation>
    </message>
    <message>
        <source>Zoom &amp;Out</source>
        <translation>Zoom &amp;Out</translation>
    </message>
    <message>
        <source>&amp;Fit</source>
        <translation>&amp;Fit</translation>
    </message>
    <message>
        <source>Fit the image in the window (Ctrl+0)</source>
        <translation>Fit the image in the window (Ctrl+0)</translation>
    </message>
    <message>
        <source>&amp;1:1</source>
        <translation>&amp;1:1</translation>
    </message>
    <message>
        <source>One image pixel per screen pixel (Ctrl+1)</source>
        <translation>One image pixel per screen pixel (Ctrl+1)</translation>
    </message>
    <message>
        <source>Show Slice &amp;Grid</source>
        <translation>Show Slice &amp;Grid</translation>
    </message>
    <message>
        <source>Select &amp;Region</source>
        <translation>Select &amp;Region</translation>
    </message>
    <message>
        <source>Drag a rectangle to plan and ask about that part only, at the full slice budget (R)</source>
        <translation>Drag a rectangle to plan and ask about that part only, at the full slice budget (R)</translation>
    </message>
    <message>
        <source>Whole Image</source>
        <translation>Whole Image</translation>
    </message>
    <message>
        <source>Forget the selected region (Shift+R)</source>
        <translation>Forget the selected region (Shift+R)</translation>
    </message>
    <message>
        <source>&amp;Next Image</source>
        <translation>&amp;Next Image</translation>
    </message>
    <message>
        <source>&amp;Previous Image</source>
        <translation>&amp;Previous Image</translation>
    </message>
    <message>
        <source>Open Model &amp;Folder…</source>
        <translation>Open Model &amp;Folder…</translation>
    </message>
    <message>
        <source>Load a model folder (config.json, *.safetensors, tokenizer.model or tokenizer.json) (Ctrl+M)</source>
        <translation>Load a model folder (config.json, *.safetensors, tokenizer.model or tokenizer.json) (Ctrl+M)</translation>
    </message>
    <message>
        <source>Use &amp;Bundled Model</source>
        <translation>Use &amp;Bundled Model</translation>
    </message>
    <message>
        <source>&amp;Unload Model</source>
        <translation>&amp;Unload Model</translation>
    </message>
    <message>
        <source>&amp;Preferences…</source>
        <translation>&amp;Preferences…</translation>
    </message>
    <message>
        <source>&amp;About UHD Lens</source>
        <translation>&amp;About UHD Lens</translation>
    </message>
    <message>
        <source>Clear Recent Files</source>
        <translation>Clear Recent Files</translation>
    </message>
    <message>
        <source>Focus &amp;Question Box</source>
        <translation>Focus &amp;Question Box</translation>
    </message>
    <message>
        <source>Images</source>
        <translation>Images</translation>
    </message>
    <message>
        <source>Plan</source>
        <translation>Plan</translation>
    </message>
    <message>
        <source>Chat</source>
        <translation>Chat</translation>
    </message>
    <message>
        <source>Model</source>
        <translation>Model</translation>
    </message>
    <message>
        <source>%1×%2 px</source>
        <translation>%1×%2 px</translation>
    </message>
    <message>
        <source>zoom %1%</source>
        <translation>zoom %1%</translation>
    </message>
    <message>
        <source>loading model…</source>
        <translation>loading model…</translation>
    </message>
    <message>
        <source>model: %1</source>
        <translation>model: %1</translation>
    </message>
    <message>
        <source>no model loaded</source>
        <translation>no model loaded</translation>
    </message>
    <message numerus="yes">
        <source>Decoding %n image(s)…</source>
        <translation>
            <numerusform>Decoding %n image…</numerusform>
            <numerusform>Decoding %n images…</numerusform>
        </translation>
    </message>
    <message>
        <source>Language</source>
        <translation>Language</translation>
    </message>
    <message>
        <source>The translation for %1 could not be loaded.</source>
        <translation>The translation for %1 could not be loaded.</translation>
    </message>
    <message>
        <source>(none)</source>
        <translation>(none)</translation>
    </message>
    <message>
        <source>Opened %1</source>
        <translation>Opened %1</translation>
    </message>
    <message>
        <source>Pasted image %1</source>
        <translation>Pasted image %1</translation>
    </message>
    <message>
        <source>UHD Lens does not download images from web addresses. Save the image first, or drag the picture itself instead of its link.</source>
        <translation>UHD Lens does not download images from web addresses. Save the image first, or drag the picture itself instead of its link.</translation>
    </message>
    <message>
        <source>The clipboard holds no image or image file.</source>
        <translation>The clipboard holds no image or image file.</translation>
    </message>
    <message>
        <source>Screen capture</source>
        <translation>Screen capture</translation>
    </message>
    <message>
        <source>Screen capture %1</source>
        <translation>Screen capture %1</translation>
    </message>
    <message>
        <source>Open Images</source>
        <translation>Open Images</translation>
    </message>
    <message>
        <source>Images (%1)</source>
        <translation>Images (%1)</translation>
    </message>
    <message>
        <source>PNG (*.png)</source>
        <translation>PNG (*.png)</translation>
    </message>
    <message>
        <source>JPEG (*.jpg *.jpeg)</source>
        <translation>JPEG (*.jpg *.jpeg)</translation>
    </message>
    <message>
        <source>WebP (*.webp)</source>
        <translation>WebP (*.webp)</translation>
    </message>
    <message>
        <source>TIFF (*.tif *.tiff)</source>
        <translation>TIFF (*.tif *.tiff)</translation>
    </message>
    <message>
        <source>All files (*)</source>
        <translation>All files (*)</translation>
    </message>
    <message>
        <source>Region %1×%2 selected: questions are now about this part, planned at the full slice budget.</source>
        <translation>Region %1×%2 selected: questions are now about this part, planned at the full slice budget.</translation>
    </message>
    <message>
        <source>Open Model Folder</source>
        <translation>Open Model Folder</translation>
    </message>
    <message>
        <source>Model %1 loaded.</source>
        <translation>Model %1 loaded.</translation>
    </message>
    <message>
        <source>Cannot load model</source>
        <translation>Cannot load model</translation>
    </message>
    <message>
        <source>%1 is not a model UHD Lens can load.</source>
        <translation>%1 is not a model UHD Lens can load.</translation>
    </message>
    <message>
        <source>Export Conversation as JSON</source>
        <translation>Export Conversation as JSON</translation>
    </message>
    <message>
        <source>Export Conversation as Markdown</source>
        <translation>Export Conversation as Markdown</translation>
    </message>
    <message>
        <source>JSON (*.json)</source>
        <translation>JSON (*.json)</translation>
    </message>
    <message>
        <source>Markdown (*.md)</source>
        <translation>Markdown (*.md)</translation>
    </message>
    <message>
        <source>Saved %1</source>
        <translation>Saved %1</translation>
    </message>
    <message>
        <source>Export failed</source>
        <translation>Export failed</translation>
    </message>
    <message>
        <source>Preferences</source>
        <translation>Preferences</translation>
    </message>
    <message>
        <source>A generation setting is out of range: %1</source>
        <translation>A generation setting is out of range: %1</translation>
    </message>
    <message>
        <source>Conversion failed</source>
        <translation>Conversion failed</translation>
    </message>
    <message>
        <source>The weights of %1 could not be converted.</source>
        <translation>The weights of %1 could not be converted.</translation>
    </message>
    <message>
        <source>Convert pickle weights?</source>
        <translation>Convert pickle weights?</translation>
    </message>
    <message>
        <source>This folder keeps weights in a pickle file; convert them to safetensors?</source>
        <translation>This folder keeps weights in a pickle file; convert them to safetensors?</translation>
    </message>
    <message>
        <source>%1 is a PyTorch pickle file. UHD Lens never loads pickle files directly, because loading one can run code. It can convert the weights with a reader that accepts plain tensors only, into a new folder:
%2
The original folder is not changed.</source>
        <translation>%1 is a PyTorch pickle file. UHD Lens never loads pickle files directly, because loading one can run code. It can convert the weights with a reader that accepts plain tensors only, into a new folder:
%2
The original folder is not changed.</translation>
    </message>
    <message>
        <source>Converting the weights of %1 into %2…</source>
        <translation>Converting the weights of %1 into %2…</translation>
    </message>
    <message>
        <source>Converted weights written to %1; loading it.</source>
        <translation>Converted weights written to %1; loading it.</translation>
    </message>
    <message>
        <source>Converted: %1</source>
        <translation>Converted: %1</translation>
    </message>
    <message>
        <source>Open &amp;GGUF Model File…</source>
        <translation>Open &amp;GGUF Model File…</translation>
    </message>
    <message>
        <source>Load a GGUF model: the language-model file (its mmproj file is found beside it, or asked for) or an mmproj file (Ctrl+Alt+M)</source>
        <translation>Load a GGUF model: the language-model file (its mmproj file is found beside it, or asked for) or an mmproj file (Ctrl+Alt+M)</translation>
    </message>
    <message>
        <source>GGUF files (*.gguf)</source>
        <translation>GGUF files (*.gguf)</translation>
    </message>
    <message>
        <source>Open GGUF Model File</source>
        <translation>Open GGUF Model File</translation>
    </message>
    <message>
        <source>Choose the mmproj (vision projector) file for %1</source>
        <translation>Choose the mmproj (vision projector) file for %1</translation>
    </message>
    <message>
        <source>%1 is not a GGUF model UHD Lens can load.</source>
        <translation>%1 is not a GGUF model UHD Lens can load.</translation>
    </message>
    <message>
        <source>&amp;Batch…</source>
        <translation>&amp;Batch…</translation>
    </message>
    <message>
        <source>Ask one question (or transcribe) about every image in folders and files, into a JSON lines, CSV or Markdown file (Ctrl+Shift+B)</source>
        <translation>Ask one question (or transcribe) about every image in folders and files, into a JSON lines, CSV or Markdown file (Ctrl+Shift+B)</translation>
    </message>
    <message>
        <source>Open Image…</source>
        <translation>Open Image…</translation>
    </message>
    <message>
        <source>Show &amp;Text Layer</source>
        <translation>Show &amp;Text Layer</translation>
    </message>
    <message>
        <source>Draw the boxes of the words recognised in the image; hover one to read it (T)</source>
        <translation>Draw the boxes of the words recognised in the image; hover one to read it (T)</translation>
    </message>
    <message>
        <source>Copy All Te&amp;xt</source>
        <translation>Copy All Te&amp;xt</translation>
    </message>
    <message>
        <source>Copy the text recognised in the image, in reading order (Ctrl+Shift+T)</source>
        <translation>Copy the text recognised in the image, in reading order (Ctrl+Shift+T)</translation>
    </message>
    <message>
        <source>Cancel Text Recognition</source>
        <translation>Cancel Text Recognition</translation>
    </message>
    <message>
        <source>Stop reading the image&apos;s text (Shift+Esc)</source>
        <translation>Stop reading the image&apos;s text (Shift+Esc)</translation>
    </message>
    <message>
        <source>Give the Model the Image&apos;s &amp;Text</source>
        <translation>Give the Model the Image&apos;s &amp;Text</translation>
    </message>
    <message>
        <source>Put the text recognised in the image (lines in reading order, with their positions) before each question. On by default for the bundled model, off for other models.</source>
        <translation>Put the text recognised in the image (lines in reading order, with their positions) before each question. On by default for the bundled model, off for other models.</translation>
    </message>
    <message numerus="yes">
        <source>Reading the image&apos;s text… %1 of %n tile(s)</source>
        <translation>
            <numerusform>Reading the image&apos;s text… %1 of %n tile</numerusform>
            <numerusform>Reading the image&apos;s text… %1 of %n tiles</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>Text layer (%1): %n word(s)</source>
        <translation>
            <numerusform>Text layer (%1): %n word</numerusform>
            <numerusform>Text layer (%1): %n words</numerusform>
        </translation>
    </message>
    <message>
        <source>Text recognition failed</source>
        <translation>Text recognition failed</translation>
    </message>
    <message>
        <source>Text recognition cancelled.</source>
        <translation>Text recognition cancelled.</translation>
    </message>
    <message>
        <source>No text was found in this image.</source>
        <translation>No text was found in this image.</translation>
    </message>
    <message numerus="yes">
        <source>Copied %n line(s) of text.</source>
        <translation>
            <numerusform>Copied %n line of text.</numerusform>
            <numerusform>Copied %n lines of text.</numerusform>
        </translation>
    </message>
</context>
<context>
    <name>uhdlens::ui::ModelPanel</name>
    <message>
        <source>Model:</source>
        <translation>Model:</translation>
    </message>
    <message>
        <source>Family:</source>
        <translation>Family:</translation>
    </message>
    <message>
        <source>Size:</source>
        <translation>Size:</translation>
    </message>
    <message>
        <source>Precision:</source>
        <translation>Precision:</translation>
    </message>
    <message>
        <source>Device:</source>
        <translation>Device:</translation>
    </message>
    <message>
        <source>Context:</source>
        <translation>Context:</translation>
    </message>
    <message>
        <source>Folder:</source>
        <translation>Folder:</translation>
    </message>
    <message>
        <source>Open Model Folder…</source>
        <translation>Open Model Folder…</translation>
    </message>
    <message>
        <source>Use Bundled Model</source>
        <translation>Use Bundled Model</translation>
    </message>
    <message>
        <source>No model is loaded. The slice plan works without one.</source>
        <translation>No model is loaded. The slice plan works without one.</translation>
    </message>
    <message>
        <source>Loading %1…</source>
        <translation>Loading %1…</translation>
    </message>
    <message>
        <source>Ready.</source>
        <translation>Ready.</translation>
    </message>
    <message>
        <source>Could not load the model:</source>
        <translation>Could not load the model:</translation>
    </message>
    <message>
        <source>%1 B parameters</source>
        <translation>%1 B parameters</translation>
    </message>
    <message>
        <source>%1 M parameters</source>
        <translation>%1 M parameters</translation>
    </message>
    <message>
        <source>%1 parameters</source>
        <translation>%1 parameters</translation>
    </message>
    <message>
        <source>%1 tokens</source>
        <translation>%1 tokens</translation>
    </message>
    <message>
        <source>mixed (bf16 weights, f32 arithmetic)</source>
        <translation>mixed (bf16 weights, f32 arithmetic)</translation>
    </message>
    <message>
        <source>Settings and where they came from:</source>
        <translation>Settings and where they came from:</translation>
    </message>
    <message>
        <source>Slice size</source>
        <translation>Slice size</translation>
    </message>
    <message>
        <source>Max slices</source>
        <translation>Max slices</translation>
    </message>
    <message>
        <source>Patch</source>
        <translation>Patch</translation>
    </message>
    <message>
        <source>Slicing</source>
        <translation>Slicing</translation>
    </message>
    <message>
        <source>Pixel normalisation</source>
        <translation>Pixel normalisation</translation>
    </message>
    <message>
        <source>Stop token ids</source>
        <translation>Stop token ids</translation>
    </message>
    <message>
        <source>Added tokens</source>
        <translation>Added tokens</translation>
    </message>
    <message>
        <source>Tokens the prompt is split on</source>
        <translation>Tokens the prompt is split on</translation>
    </message>
    <message>
        <source>the family&apos;s default</source>
        <translation>the family&apos;s default</translation>
    </message>
    <message>
        <source>Weights:</source>
        <translation>Weights:</translation>
    </message>
    <message>
        <source>Language-model tensor types</source>
        <translation>Language-model tensor types</translation>
    </message>
    <message>
        <source>Vision-projector tensor types</source>
        <translation>Vision-projector tensor types</translation>
    </message>
    <message>
        <source>language model: %1</source>
        <translation>language model: %1</translation>
    </message>
    <message>
        <source>vision projector: %1</source>
        <translation>vision projector: %1</translation>
    </message>
    <message>
        <source>The language model uses %1, a 4-bit-or-lower quantization; it may misread small text. Q8_0 (or at least Q4_K_M) reads better.</source>
        <translation>The language model uses %1, a 4-bit-or-lower quantization; it may misread small text. Q8_0 (or at least Q4_K_M) reads better.</translation>
    </message>
    <message>
        <source>The vision projector uses %1; it is usually kept at F16, and below that small text may be misread.</source>
        <translation>The vision projector uses %1; it is usually kept at F16, and below that small text may be misread.</translation>
    </message>
</context>
<context>
    <name>uhdlens::ui::PlanPanel</name>
    <message>
        <source>Slicing</source>
        <translation>Slicing</translation>
    </message>
    <message>
        <source>&amp;Policy:</source>
        <translation>&amp;Policy:</translation>
    </message>
    <message>
        <source>MiniCPM-V (%1 px slices, up to %2)</source>
        <translation>MiniCPM-V (%1 px slices, up to %2)</translation>
    </message>
    <message>
        <source>LLaVA-UHD (%1 px slices, up to %2)</source>
        <translation>LLaVA-UHD (%1 px slices, up to %2)</translation>
    </message>
    <message>
        <source>LLaVA-1.5 baseline (one %1 px view)</source>
        <translation>LLaVA-1.5 baseline (one %1 px view)</translation>
    </message>
    <message>
        <source>How the image is cut into slices before the vision encoder sees it.</source>
        <translation>How the image is cut into slices before the vision encoder sees it.</translation>
    </message>
    <message>
        <source>&amp;Max slices:</source>
        <translation>&amp;Max slices:</translation>
    </message>
    <message>
        <source>The most slices the planner may use; the plan updates as you move it.</source>
        <translation>The most slices the planner may use; the plan updates as you move it.</translation>
    </message>
    <message>
        <source>Cost and legibility</source>
        <translation>Cost and legibility</translation>
    </message>
    <message>
        <source>What the model sees</source>
        <translation>What the model sees</translation>
    </message>
    <message>
        <source>Open an image to see its plan.</source>
        <translation>Open an image to see its plan.</translation>
    </message>
    <message>
        <source>Hover over a slice to see it at model input resolution.</source>
        <translation>Hover over a slice to see it at model input resolution.</translation>
    </message>
    <message>
        <source>Overview</source>
        <translation>Overview</translation>
    </message>
    <message>
        <source>Slice %1 of %2</source>
        <translation>Slice %1 of %2</translation>
    </message>
    <message>
        <source>%1: %2×%3 pixels, %4×%5 patches of %6 px (nearest-neighbour zoom)</source>
        <translation>%1: %2×%3 pixels, %4×%5 patches of %6 px (nearest-neighbour zoom)</translation>
    </message>
    <message>
        <source>No image.</source>
        <translation>No image.</translation>
    </message>
    <message>
        <source>%1 × %2 slices of %3×%4 + overview %5×%6 (image %7×%8)</source>
        <translation>%1 × %2 slices of %3×%4 + overview %5×%6 (image %7×%8)</translation>
    </message>
    <message>
        <source>Not sliced: one view of %1×%2 (image %3×%4)</source>
        <translation>Not sliced: one view of %1×%2 (image %3×%4)</translation>
    </message>
    <message>
        <source>Visual tokens: &lt;b&gt;%1&lt;/b&gt; for this plan · %2 for LLaVA-1.5 (one squashed 336×336 view)</source>
        <translation>Visual tokens: &lt;b&gt;%1&lt;/b&gt; for this plan · %2 for LLaVA-1.5 (one squashed 336×336 view)</translation>
    </message>
    <message>
        <source>%1% of the model&apos;s %2-token context</source>
        <translation>%1% of the model&apos;s %2-token context</translation>
    </message>
    <message>
        <source>Load a model to see the share of its context.</source>
        <translation>Load a model to see the share of its context.</translation>
    </message>
    <message>
        <source>Compute: 1.00× LLaVA-1.5 (this is the baseline)</source>
        <translation>Compute: 1.00× LLaVA-1.5 (this is the baseline)</translation>
    </message>
    <message>
        <source>Compute: %1× LLaVA-1.5-13B (%2 architecture, vision + prefill)</source>
        <translation>Compute: %1× LLaVA-1.5-13B (%2 architecture, vision + prefill)</translation>
    </message>
    <message>
        <source>MiniCPM-V 2.0</source>
        <translation>MiniCPM-V 2.0</translation>
    </message>
    <message>
        <source>LLaVA-UHD 13B</source>
        <translation>LLaVA-UHD 13B</translation>
    </message>
    <message>
        <source>Downscale: %1× (the encoder gets one pixel for every %1 pixels of the image)</source>
        <translation>Downscale: %1× (the encoder gets one pixel for every %1 pixels of the image)</translation>
    </message>
    <message>
        <source>Text smaller than ~%1 px will be unreadable; allow more slices or select a region.</source>
        <translation>Text smaller than ~%1 px will be unreadable; allow more slices or select a region.</translation>
    </message>
    <message>
        <source>Not downscaled: the encoder sees every pixel (upscale %1×).</source>
        <translation>Not downscaled: the encoder sees every pixel (upscale %1×).</translation>
    </message>
    <message>
        <source>Text of ~%1 px and larger should be readable.</source>
        <translation>Text of ~%1 px and larger should be readable.</translation>
    </message>
</context>
<context>
    <name>uhdlens::ui::RegionGrabber</name>
    <message>
        <source>Screen capture is not available on Wayland: the compositor does not let applications read the screen. Take a screenshot with your desktop&apos;s tool and paste it here with Ctrl+V.</source>
        <translation>Screen capture is not available on Wayland: the compositor does not let applications read the screen. Take a screenshot with your desktop&apos;s tool and paste it here with Ctrl+V.</translation>
    </message>
    <message>
        <source>Screen capture is not available on this platform (%1). Take a screenshot with another tool and paste it here with Ctrl+V.</source>
        <translation>Screen capture is not available on this platform (%1). Take a screenshot with another tool and paste it here with Ctrl+V.</translation>
    </message>
    <message>
        <source>The screen could not be grabbed.</source>
        <translation>The screen could not be grabbed.</translation>
    </message>
    <message>
        <source>Drag a rectangle to capture; Esc cancels</source>
        <translation>Drag a rectangle to capture; Esc cancels</translation>
    </message>
</context>
<context>
    <name>uhdlens::ui::Session</name>
    <message>
        <source>Converting weights: %1 (%2%)</source>
        <translation>Converting weights: %1 (%2%)</translation>
    </message>
    <message>
        <source>Loading model: %1 (%2%)</source>
        <translation>Loading model: %1 (%2%)</translation>
    </message>
    <message>
        <source>Loading model…</source>
        <translation>Loading model…</translation>
    </message>
    <message>
        <source>Converting weights…</source>
        <translation>Converting weights…</translation>
    </message>
    <message>
        <source>Waiting for the model to load…</source>
        <translation>Waiting for the model to load…</translation>
    </message>
    <message>
        <source>Preparing the image…</source>
        <translation>Preparing the image…</translation>
    </message>
    <message>
        <source>Stopping…</source>
        <translation>Stopping…</translation>
    </message>
    <message>
        <source>baseline view %1/%2</source>
        <translation>baseline view %1/%2</translation>
    </message>
    <message>
        <source>slice %1/%2</source>
        <translation>slice %1/%2</translation>
    </message>
    <message>
        <source>Encoding %1 · %2 ms · ETA %3 s</source>
        <translation>Encoding %1 · %2 ms · ETA %3 s</translation>
    </message>
    <message numerus="yes">
        <source>Answering… %n token(s)</source>
        <translation>
            <numerusform>Answering… %n token</numerusform>
            <numerusform>Answering… %n tokens</numerusform>
        </translation>
    </message>
    <message>
        <source>No image is open.</source>
        <translation>No image is open.</translation>
    </message>
</context>
<context>
    <name>uhdlens::ui::SettingsDialog</name>
    <message>
        <source>Preferences</source>
        <translation>Preferences</translation>
    </message>
    <message>
        <source>Max new tokens:</source>
        <translation>Max new tokens:</translation>
    </message>
    <message>
        <source>Temperature (0 = greedy):</source>
        <translation>Temperature (0 = greedy):</translation>
    </message>
    <message>
        <source>Top-k (0 = off):</source>
        <translation>Top-k (0 = off):</translation>
    </message>
    <message>
        <source>Top-p (1 = off):</source>
        <translation>Top-p (1 = off):</translation>
    </message>
    <message>
        <source>Repetition penalty:</source>
        <translation>Repetition penalty:</translation>
    </message>
    <message>
        <source>Seed:</source>
        <translation>Seed:</translation>
    </message>
    <message>
        <source>Stop strings (separated by |):</source>
        <translation>Stop strings (separated by |):</translation>
    </message>
    <message>
        <source>Device:</source>
        <translation>Device:</translation>
    </message>
    <message>
        <source>Precision:</source>
        <translation>Precision:</translation>
    </message>
    <message>
        <source>Language:</source>
        <translation>Language:</translation>
    </message>
    <message>
        <source>Device and precision apply the next time a model is loaded.</source>
        <translation>Device and precision apply the next time a model is loaded.</translation>
    </message>
    <message>
        <source>Show answers as plain text</source>
        <translation>Show answers as plain text</translation>
    </message>
    <message>
        <source>Show answers as the model wrote them instead of rendering their Markdown (tables, code blocks, lists)</source>
        <translation>Show answers as the model wrote them instead of rendering their Markdown (tables, code blocks, lists)</translation>
    </message>
    <message>
        <source>Thinking mode (MiniCPM-V 4.5)</source>
        <translation>Thinking mode (MiniCPM-V 4.5)</translation>
    </message>
    <message>
        <source>The model reasons before it answers, and the answer shows the reasoning first. Slower; only models with a thinking switch use it, the others ignore it.</source>
        <translation>The model reasons before it answers, and the answer shows the reasoning first. Slower; only models with a thinking switch use it, the others ignore it.</translation>
    </message>
</context>
<context>
    <name>uhdlens::ui::SliceCanvas</name>
    <message>
        <source>Image and slice plan</source>
        <translation>Image and slice plan</translation>
    </message>
    <message>
        <source>Drop images here, paste one with Ctrl+V, or open one with Ctrl+O.
UHD Lens shows how the model cuts each image into slices, what every slice looks like to the model, and what it costs in tokens.</source>
        <translation>Drop images here, paste one with Ctrl+V, or open one with Ctrl+O.
UHD Lens shows how the model cuts each image into slices, what every slice looks like to the model, and what it costs in tokens.</translation>
    </message>
    <message>
        <source>#%1 · %2×%3 · %4×%5 patches</source>
        <translation>#%1 · %2×%3 · %4×%5 patches</translation>
    </message>
    <message>
        <source>one view %1×%2 (padded to a square)</source>
        <translation>one view %1×%2 (padded to a square)</translation>
    </message>
    <message>
        <source>one view %1×%2</source>
        <translation>one view %1×%2</translation>
    </message>
    <message>
        <source>overview %1×%2</source>
        <translation>overview %1×%2</translation>
    </message>
    <message>
        <source>%1
confidence %2%</source>
        <translation>%1
confidence %2%</translation>
    </message>
</context>
<context>
    <name>uhdlens::ui::TranscriptionPopup</name>
    <message>
        <source>UHD Lens — Transcribe</source>
        <translation>UHD Lens — Transcribe</translation>
    </message>
    <message>
        <source>Open in UHD Lens</source>
        <translation>Open in UHD Lens</translation>
    </message>
    <message>
        <source>Stop</source>
        <translation>Stop</translation>
    </message>
    <message>
        <source>End the transcription here and copy the text so far</source>
        <translation>End the transcription here and copy the text so far</translation>
    </message>
    <message>
        <source>Close</source>
        <translation>Close</translation>
    </message>
    <message numerus="yes">
        <source>Copied %n character(s) to the clipboard.</source>
        <translation>
            <numerusform>Copied %n character to the clipboard.</numerusform>
            <numerusform>Copied %n characters to the clipboard.</numerusform>
        </translation>
    </message>
    <message>
        <source>The model found no text.</source>
        <translation>The model found no text.</translation>
    </message>
</context>
</TS>
